"""A small real Django project for the Django integration tests (settings, URLconf, views)."""
