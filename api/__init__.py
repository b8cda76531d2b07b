"""The HTTP adapter: parse, authorise, call the application, render."""
