"""Firehose record transform: validates device events and returns their dynamic-partition keys."""
