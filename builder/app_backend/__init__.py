"""What every app Forja serves gets without a server of its own: its users' identity, the pages they sign in with, and
(with the rules) its data. Nothing here reaches the services; builder/services/app_users.py and builder/api/app_auth.py
build on it."""
