"""The decisions of the live probes, as plain functions.

``tests/live`` gathers evidence from a cluster (API objects, command output inside pods, AWS target groups)
and hands it to these functions, which decide whether a lab claim holds and say why not. Keeping the
decisions here, free of any cluster access, lets ``tests/unit/probes`` check each one offline against
recorded outputs, so a live failure always means the cluster, never the parsing.
"""
