"""Production entry point: `gunicorn pos_loyalty.wsgi:app`."""
from pos_loyalty.app import create_app

app = create_app()
