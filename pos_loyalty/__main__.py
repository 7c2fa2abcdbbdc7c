"""`python -m pos_loyalty` is the `pos-loyalty` command."""
from pos_loyalty.cli import main

main()
