"""Building a pipeline definition from a Python module: importing it, building it offline, and the build cache.

    built         ``Built``: what a build gives (its name, definition, uploads, how it was made)
    modules       import a pipeline module by name, call its get_pipeline, the defaults of a local run;
                  ``build_locally`` (no AWS at all) and ``build_for_publishing`` (for SageMaker), each with
                  the SDK the module is written for; every failure one line
    sdks          which SDK a module is written for, read from its imports and its project's (never run)
    sdk-v2/       the lock the SDK v2 environment is made from (``showcase.v2env``: on first use, with uv,
                  in the user's cache, atomically and once; @step jobs of a v2 build run there too)
    v2build       a build in the SDK v2 environment, this process's side: it asks, and reads the answer
    worker        the same build, that environment's side: its Python builds and answers
    offline       ``offline_build``: the one block every build runs in (a pipeline module's own, the CLI's
                  local build with ``answer_locally``)
    answers       the AWS calls a local build answers itself (S3 uploads kept, bucket checks, the caller's
                  identity), every other call refused as AWS refuses one
    environment   ``scoped_environment``: variables set or unset for a block, put back after it
    cache         ``BuildCache``: a local run reuses the definition while nothing the build read has changed
    recording     what a build reads (variables, files, directories, and who read each file)
    inputs        those reads as a cache entry keeps them (a variable by a digest, never its value), and the
                  check that they are unchanged
    patching      a changed code file patched into a kept definition instead of building it again

Nothing here is imported until it is needed: a kept definition is reused with ``cache`` alone, without the
SDK, boto3 or the user's module.

What a build changes in the process
-----------------------------------
Building runs the user's module and the SDK in this process (a module written for the SDK v2: in a process of
the SDK v2 environment, where the same holds), so a build changes process-wide things. Each is
in force for the build alone and put back after it, except where the table says why not. One build at a time
per process: while it runs, other threads see these changes too.

==========================================  ====================================  ======================================
what (where)                                why                                   how it is undone
==========================================  ====================================  ======================================
environment, any build (``offline``):       the SDK builds clients at import,     ``scoped_environment``: each variable
``AWS_DEFAULT_REGION`` and                  which need a region; no IAM check of  has its old value again, or is unset
``SAGEMAKER_VALIDATE_ROLE=false`` when      the role; no probe of the             again
unset; ``AWS_EC2_METADATA_DISABLED=true``,  instance-metadata endpoint for
``SAGEMAKER_SUPPRESS_V2_WARNING=1``         credentials; the SDK v2 says at import
                                            that v3 follows it, on stdout

environment, local build (``offline``):     the module must never sign with, nor  the same; the variables it forces are
placeholder credentials; the region forced  look for, the user's own credentials  no inputs of the build
(``AWS_REGION`` too); config and                                                  (``recording.pin``)
credentials files ``os.devnull``; session
token, profile and endpoint unset

environment, publishing (``modules``):      importing the SDK builds clients,     the same
``AWS_DEFAULT_REGION`` from ``-k``'s        which need a region
region when unset

the SDK's telemetry sender (``offline``)    it would reach the network outside    the original is put back
                                            botocore

a warnings filter (``offline``)             the SDK warns that no job starts      ``warnings.catch_warnings`` restores
                                            within a ``PipelineSession``:         the whole filter list
                                            building is the point

``botocore.session.Session.create_client``  every client the build makes (the     the original is put back; clients made
of a local build (``offline``)              module's own, the SDK's) answers      meanwhile keep two event handlers,
                                            locally                               which do nothing outside a local build

``sys.path``: the working directory         ``-n`` names a module of the project  taken off again
appended when absent (``modules``)          the command runs in, as
                                            ``python -m`` finds it

``os.environ.__class__``: a recording       the cache records each variable the   the class is swapped back
subclass (``recording``)                    build reads

an audit hook (``recording``)               the cache records each file the       never: no audit hook can be removed
                                            build opens and each directory it     (PEP 578). It is added on the first
                                            lists                                 recording and returns at once outside
                                                                                  one

``sys.modules``: the pipeline module and    an import                             not undone, as no import is; the cache
what it imports (``modules``)                                                     lists the files the build imported
                                                                                  from it
==========================================  ====================================  ======================================
"""
