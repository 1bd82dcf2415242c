"""The booking gateway: Litestar app, settings, routes and the command line."""
