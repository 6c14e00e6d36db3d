"""Read-side logic behind the routes: loading books, valuing them, shaping responses."""
