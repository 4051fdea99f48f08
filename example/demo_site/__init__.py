"""Project package of the django-jimmypage demo site."""
