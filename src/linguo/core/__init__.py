"""The kernel every domain uses: database, errors, security, jobs, cache, events, HTTP."""
