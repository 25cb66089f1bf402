"""The edge gateway: apps as Edge Impulse Linux models (.eim), and device events to MQTT with nothing lost.

eim        build an app as an .eim (firmware/eim/eim_main.c + the app's firmware on the host board)
payloads   the MQTT topics and JSON payloads (schema: payloads.schema.json)
store      the on-disk store-and-forward queue (SQLite)
publisher  the MQTT client: TLS, credentials, QoS 1 with acknowledgements, retry with backoff
devices    device sessions (host, qemu-m4, a serial port) that turn link messages into events
service    `tinyml gateway`: devices -> store -> broker
subscribe  `tinyml subscribe`: a consumer that dedupes by event id
fleet      `make fleet`: many simulated devices through gateways to a local broker, measured
dashboard  `tinyml dashboard`: a live web page of the devices and their events (a consumer with a web server)
stopping   SIGTERM / Ctrl-C end those verbs cleanly (queues closed, child processes and a local broker stopped)
"""
