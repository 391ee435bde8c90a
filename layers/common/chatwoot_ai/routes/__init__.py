"""The HTTP routes of each API, for the handlers' resolvers to include: Powertools `Router`s for the Config API
(`configs`) and the Vectorize API (`vectorize`), a FastAPI router for the Odoo gateway (`odoo_gateway`).

Importing one of these imports Powertools' event handler (or FastAPI): only HTTP handlers do.
"""
