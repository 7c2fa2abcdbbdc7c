"""The loyalty card in the customer's phone wallet: Apple Wallet passes and Google Wallet
loyalty objects, both drawn from one `content.PassContent`, kept up to date after every
balance change through the outbox's `wallet` channel (README "Push and wallet")."""
