"""Entry point of the serverless-blueprints component provider (see PulumiPlugin.yaml)."""
from serverless_blueprints.provider import main

if __name__ == "__main__":
    main()
