"""A local AWS Lambda: the Runtime API, runtime processes as instances, and a Function URL front.

- `function_url`: Function URL events (payload format 2.0) and how a URL reads
  a function's answer, buffered or streamed (pure);
- `runtime_api`: the documented Runtime API, one endpoint per instance
  (next invocation, response in both modes, error, init error);
- `runtimes`: starting a runtime process (awslambdaric, or the function's own
  streaming bootstrap) and stopping it;
- `host`: the Function URL on loopback, the instance pool's driver (cold
  starts, warm reuse, reaping, 429), the limits and the timeout.

docs/functions.md, "The local Lambda host", is the contract.
"""
