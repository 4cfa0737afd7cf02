"""Welcome email for each new newsletter subscriber, from the home region's table stream."""
