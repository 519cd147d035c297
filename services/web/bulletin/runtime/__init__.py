"""What running in the stack needs: health probes and metrics, logs and error
reports, the proxy and security headers, the database pool and connections
budget, start-up (wait, migrate under a lock) and static file versions. Only
the app's assembly (the factory, config, the command line) imports from here."""
