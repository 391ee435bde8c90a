"""The local runner: `template.yaml` on an emulated cloud (moto), with every function served and triggered."""
