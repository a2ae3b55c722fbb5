"""Running the product, apart from the domain: serving, the dev server, supervised processes,
the embedded PostgreSQL. Above the apps (it starts them), below learning_site's settings."""
