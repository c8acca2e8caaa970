"""The JSON-RPC 2.0 shim: the original four methods over TrainingJobs, with Kubernetes auth.

Pure modules (no aiohttp, no Kubernetes client): errors, protocol, schemas, methods, params,
manifests, results, openrpc, store, ttlcache, identity, jwtverify, render, settings.
I/O: cache, auth, handlers, app, main, cli.
"""
