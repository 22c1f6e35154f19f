"""The workshop app: a face, like the CLI, for facilitators asking what-ifs live.

It holds no simulation logic: questions become scenario overlays (``whatif``), run in
the shared pool of ``simulation.experiments.live``, and come back as cards and bands
(``answers``). ``server`` is the only module that knows about the web framework.
"""
