"""What the rules stand on: passwords, signed tokens, mail, the rules for an
email address and a username, counted limits, safe Markdown and keyset pages.
Services import from here; nothing here imports a service or a blueprint."""
