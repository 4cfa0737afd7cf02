"""Acme's own helpers. The name `components` is ours: serverless-blueprints lives in `serverless_blueprints`."""
