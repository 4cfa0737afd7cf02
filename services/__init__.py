"""Sources of the services that run outside Lambda (container image, instance wheel), as package data."""
