"""`wkp-emu init`: a commented starter wkp-emu.toml (every key at its default)."""

STARTER = '''\
# wkp-emu.toml: configuration of `wkp-emu up`. Every key is optional; the values
# below are the defaults. Errors name the key and the line.

[emulator]
state_dir = ".wkp-emu"        # volumes, logs, the store archive, the secret
control_host = "127.0.0.1"
control_port = 4510           # the control API (wkp-emu status, scale, ...)
# secret = "..."              # HMAC secret; generated once and kept in state_dir
# headless = true             # JSON event lines instead of the human view
backend = "process"           # where engines run: "process" or "docker" (containers, docs/docker.md)

[store]
# endpoint = "http://127.0.0.1:9000"   # an external S3-compatible store; default: embedded moto
port = 0                      # embedded moto's port (0 = any free port)
bucket = "wkp-emu"

[function]
port = 8787                   # WEFTKIT_PERSIST_ENDPOINT = http://127.0.0.1:8787
max_payload = 104857600       # 100 MiB compressed, the seed's limit
max_inflight = 256            # concurrent requests before 429
async = false                 # true: answer 202 and store in the background
# target = "aiohttp"         # aiohttp | lambda: the Lambda function on the local Lambda host
# Platform profile and instances (docs/functions.md); unset: one long-running function.
# profile = "lambda-url"      # lambda-url | gcf | azure | container: that platform's limits and instances
# instances_max = 4           # instances at most (the profile's when one is set)
# instance_concurrency = 256  # requests one instance serves at once (default max_inflight)
# keep_alive_s = 600          # reap an instance idle this long (default: never)
# cold_start_ms = 250         # a new instance serves after this delay (default 0)
# timeout_s = 230             # the platform answers 502 to a request still running then

[discovery]
enabled = true
udp_port = 7474
api_port = 7475
gossip_interval_ms = 500
suspicion_timeout_ms = 5000

[platform]
# How pods behave. Fargate / Cloud Run: every new pod starts on an empty volume.
# profile = "fargate"         # fargate | cloud-run | aci | kubernetes: sets the keys below (explicit ones win)
recycle_volume = "empty"      # "empty" | "keep" (a Kubernetes PVC)
# "stable": each slot has a fixed WEFTKIT_PERSIST_INSTANCE_ID (vector-1, ...), as a
# StatefulSet or per-task env would give. "new": a random id per pod, the
# instance-id trap; pair it with WEFTKIT_PERSIST_TAKEOVER = "newest" below.
instance_id = "stable"
stop_grace_s = 30             # SIGTERM, then SIGKILL after this many seconds
replace_delay_s = 1           # a crashed or killed task is replaced after this (Fargate: ~60)

[defaults.env]
# WEFTKIT_* settings for every engine (the emulator sets MODE, ENDPOINT, SECRET).
WEFTKIT_PERSIST_SCHEDULE = "*/10 * * * * *"   # seconds-resolution cron: every 10 s
# WEFTKIT_PERSIST_STRATEGY = "incremental"
# WEFTKIT_PERSIST_COMPRESSION = "zstd"

# The fleet: one table per engine kind (relational, document, graph, inmemory,
# keyvalue, vector, markdown, filestore), as in seed 000's compose example.
[fleet.relational]
replicas = 1
[fleet.relational.env]
WEFTKIT_PERSIST_TAKEOVER = "newest"   # single replica: adopt the lineage after a recycle

[fleet.vector]
replicas = 2

[fleet.filestore]
replicas = 1

# A write workload per kind, generated inside each engine (off unless set):
# [workload.vector]
# rate = 5                    # writes per second, or "auto" (the kind's typical rate)
# value_bytes = 1536          # size of each value (default: the kind's typical value)
# keys = 2000                 # key space
# deletes = 0.1               # share of operations that delete a key
# burst_writes = 200          # extra writes at once ...
# burst_every = "30s"         # ... this often
'''
