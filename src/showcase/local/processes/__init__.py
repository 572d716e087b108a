"""Starting a job process and watching it: the runner's side of the process boundary.

    guard         what a job process runs first: die with the runner, enter its own /opt/ml, exec the command
    commands      a job's command line (through the guard) and its environment (without AWS settings)
    container     each job's /opt/ml: whether the host allows the view, its scratch, a job's python and pip
    subprocesses  running a command to its end: output streamed into the step log, stops and timeouts
    jobserver     the runner's end of the pre-imported job server that forks built-in images' jobs
    forker        the job server itself, in its own interpreter: one fork per job

Nothing here knows a step type: ``showcase.local.steps`` uses this package, and what runs inside a job is
``showcase.local.images``.
"""
