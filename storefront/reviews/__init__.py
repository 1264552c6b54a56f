"""Product reviews and ratings."""
