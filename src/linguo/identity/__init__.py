"""Identity: accounts, authentication, tokens and devices."""
