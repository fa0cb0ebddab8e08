"""Publishing: a project's production build kept as releases and served at the app's own address."""
