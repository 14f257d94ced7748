"""The WKP-1 function on AWS Lambda behind a Function URL, storing in S3.

- `events`: payload format 2.0 events in, Function URL responses out (pure);
- `setup`: the function instance built once from its environment;
- `handler.handler`: the managed Python runtime's entry point (buffered
  responses: restores up to Lambda's 6 MB response limit);
- `bootstrap`: a small Runtime API client that streams responses (the
  Function URL's RESPONSE_STREAM mode), which is how restores over 6 MB
  come back. docs/functions.md, "AWS Lambda", says why and how to deploy.
"""
