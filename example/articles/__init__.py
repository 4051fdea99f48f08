"""The articles app: the content of the demo site."""
