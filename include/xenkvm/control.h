/*
 * The control protocol between the `xenkvm` CLI and one `xenkvmd`: one JSON
 * object per line on a unix stream socket (docs/CONTROL-PROTOCOL.md).
 *
 *   -> {"v":1,"id":3,"op":"shutdown","reason":"poweroff"}
 *   <- {"v":1,"id":3,"ok":true}
 *   <- {"v":1,"id":4,"ok":false,"error":"EOPNOTSUPP","message":"..."}
 *
 * Three parts: the codec (requests and replies to and from lines, pure and
 * fuzzed), the server the daemon embeds on its event loop, and a blocking
 * client for the CLI.
 */
#ifndef XENKVM_CONTROL_H
#define XENKVM_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONTROL_PROTOCOL_VERSION 1
#define CONTROL_LINE_MAX   65536   /* longest request or reply, newline included */
#define CONTROL_NAME_MAX   128
#define CONTROL_TEXT_MAX   512     /* paths, specs, messages */
#define CONTROL_LIST_MAX   256     /* entries in a vcpu/block/network list */
#define CONTROL_MEMORY_MAX_KIB (1ll << 30)  /* mem-set: 1 TiB, xl.cfg's maxmem limit */

/* One request table (control.c) is ordered like this enum. */
enum control_op {
	CONTROL_OP_HELLO,
	CONTROL_OP_INFO,
	CONTROL_OP_VCPU_LIST,
	CONTROL_OP_PAUSE,
	CONTROL_OP_UNPAUSE,
	CONTROL_OP_SHUTDOWN,
	CONTROL_OP_DESTROY,
	CONTROL_OP_BLOCK_LIST,
	CONTROL_OP_BLOCK_ATTACH,
	CONTROL_OP_BLOCK_DETACH,
	CONTROL_OP_NETWORK_LIST,
	CONTROL_OP_NETWORK_ATTACH,
	CONTROL_OP_NETWORK_DETACH,
	CONTROL_OP_MEM_SET,
	CONTROL_OP_SYSRQ,
	CONTROL_OP_TRIGGER,
	CONTROL_OP_SAVE,
	CONTROL_OP_MIGRATE_SEND,
	CONTROL_OP_COUNT,
};

enum control_shutdown_reason { CONTROL_SHUTDOWN_POWEROFF, CONTROL_SHUTDOWN_REBOOT };

/* What `xenkvm list` shows in its State column (xl's r b p s c d). */
enum control_state {
	CONTROL_STATE_RUNNING,    /* r (or b when every vCPU is halted: see blocked) */
	CONTROL_STATE_PAUSED,     /* p: vCPUs stopped by pause or create -p */
	CONTROL_STATE_SHUTDOWN,   /* s: the guest asked to stop; the daemon is acting on it */
	CONTROL_STATE_CRASHED,    /* c: crashed and kept (on_crash="preserve") */
	CONTROL_STATE_DYING,      /* d: being torn down */
	CONTROL_STATE_COUNT,
};

struct control_request {
	unsigned int version;              /* CONTROL_PROTOCOL_VERSION */
	bool has_id;
	int64_t id;                        /* echoed in the reply */
	enum control_op op;
	enum control_shutdown_reason reason;  /* shutdown */
	char arg[CONTROL_TEXT_MAX];        /* *-attach: xl spec; block-detach: vdev;
					      network-detach: devid or MAC;
					      sysrq: the key (one printable character);
					      trigger: "power", "reset" or "nmi";
					      save: the file, an absolute path;
					      migrate-send: the unix socket the
					      CLI relays the stream from */
	unsigned int vcpu;                 /* trigger nmi: the vCPU (default 0) */
	uint64_t target_kib;               /* mem-set: the balloon target */
};

struct control_domain_info {
	int domid;
	char name[CONTROL_NAME_MAX];
	char uuid[40];                     /* "xxxxxxxx-xxxx-..." or "" */
	enum control_state state;
	bool blocked;                      /* every online vCPU halted (xl's 'b') */
	uint64_t memory_mib;               /* held now: RAM less what is ballooned out */
	uint64_t maxmem_mib;
	unsigned int vcpus;                /* online */
	unsigned int maxvcpus;
	uint64_t cpu_time_ns;              /* all vCPU threads */
	int64_t start_time;                /* unix seconds the domain (re)started */
	int pid;                           /* the daemon */
	unsigned int restarts;             /* on_reboot/on_crash="restart" count */
	char config[CONTROL_TEXT_MAX];     /* the config file the daemon read */
	char type[8];                      /* "hvm" or "pvh" */
};

struct control_vcpu_info {
	unsigned int id;
	bool online;
	bool running;                      /* in KVM_RUN or runnable; else halted/blocked */
	bool paused;
	int host_cpu;                      /* last host CPU, -1 unknown */
	uint64_t cpu_time_ns;
	char affinity[64];                 /* "all" or a host CPU list "0-3,6" */
};

struct control_disk_info {
	char vdev[32];
	char target[CONTROL_TEXT_MAX];
	int devid;                         /* xenstore device id */
	bool readonly;
	bool cdrom;
	int backend_state;                 /* XenbusState of the backend, -1 none */
	int frontend_state;                /* XenbusState of the frontend, -1 none */
};

struct control_nic_info {
	int devid;
	char mac[18];                      /* "00:16:3e:xx:xx:xx" */
	char backend[64];                  /* "user", "tap:br0", ... */
	int backend_state;
	int frontend_state;
	/* netback's counters; tx is guest -> host (optional in the JSON) */
	uint64_t tx_packets, tx_bytes, tx_drops, tx_errors;
	uint64_t rx_packets, rx_bytes, rx_drops, rx_errors;
};

/* The decoded reply; arrays are owned (control_reply_free). */
struct control_reply {
	bool has_id;
	int64_t id;
	int error;                         /* 0 ok, else -errno */
	char message[CONTROL_TEXT_MAX];    /* why, when error */
	/* hello */
	unsigned int protocol;
	char server[64];
	/* info */
	struct control_domain_info info;
	/* lists */
	struct control_vcpu_info *vcpus;
	unsigned int nr_vcpus;
	struct control_disk_info *disks;
	unsigned int nr_disks;
	struct control_nic_info *nics;
	unsigned int nr_nics;
	/* *-attach */
	char vdev[32];
	int devid;
};

/* --- codec ------------------------------------------------------------- */

const char *control_op_name(enum control_op op);
/* -ENOENT for an unknown name. */
int control_op_from_name(const char *name, enum control_op *op_r);
/* What sysrq's key and trigger's kind may be; the CLI checks with these
 * before sending, the codec again on receipt. */
bool control_sysrq_key_valid(const char *key);       /* one printable, not a space */
bool control_trigger_kind_valid(const char *kind);   /* "power", "reset", "nmi" */
const char *control_state_name(enum control_state s);
int control_state_from_name(const char *name, enum control_state *s_r);
/* "EINVAL" for -EINVAL; errno names round-trip through the protocol. */
const char *control_errno_name(int neg_errno);
int control_errno_from_name(const char *name);

/*
 * Decodes one request line (without or with its trailing newline).
 * 0, or -errno with a message in err for the error reply; req->id is set
 * whenever the line had a usable "id", even on failure.
 * -EPROTONOSUPPORT: a version we do not speak; -ENOSYS: unknown op.
 */
int control_request_decode(const char *line, size_t len, struct control_request *req,
			   char *err, size_t errlen);
/* Appends one request line, newline included; 0 or -errno. */
int control_request_encode(const struct control_request *req, char **line_r, size_t *len_r);

/* `op` says which payload to write or expect. */
int control_reply_encode(enum control_op op, const struct control_reply *rep, char **line_r,
			 size_t *len_r);
int control_reply_decode(enum control_op op, const char *line, size_t len,
			 struct control_reply *rep, char *err, size_t errlen);
void control_reply_free(struct control_reply *rep);

/* --- server (in xenkvmd) ----------------------------------------------- */

/*
 * What the daemon does for each request.  Every callback runs on the
 * event loop's thread, returns 0 or -errno, and may explain a failure with
 * control_server_set_message().  A NULL callback makes its op fail with
 * EOPNOTSUPP ("not supported by this xenkvmd"), so a daemon without a
 * backend says so instead of pretending.  `info` is required.
 */
struct control_handlers {
	int (*info)(void *opaque, struct control_domain_info *info);
	int (*vcpu_list)(void *opaque, struct control_vcpu_info *vcpus, unsigned int max,
			 unsigned int *nr_r);
	int (*pause)(void *opaque);
	int (*unpause)(void *opaque);
	/* Asks the guest (control/shutdown, else ACPI power button / reset);
	 * returns once the request is delivered, not when the guest is gone. */
	int (*shutdown)(void *opaque, enum control_shutdown_reason reason);
	/* Ends the domain now (exit status 5); the reply may be lost when the
	 * daemon exits first, which clients accept. */
	int (*destroy)(void *opaque);
	int (*block_list)(void *opaque, struct control_disk_info *disks, unsigned int max,
			  unsigned int *nr_r);
	int (*block_attach)(void *opaque, const char *spec, char *vdev_r, size_t vdev_len);
	int (*block_detach)(void *opaque, const char *vdev);
	int (*network_list)(void *opaque, struct control_nic_info *nics, unsigned int max,
			    unsigned int *nr_r);
	int (*network_attach)(void *opaque, const char *spec, int *devid_r);
	int (*network_detach)(void *opaque, const char *id);
	/* Sets memory/target for the guest's balloon driver; returns when it
	 * is written, not when the guest has reached it. */
	int (*mem_set)(void *opaque, uint64_t target_kib);
	/* Writes control/sysrq for the guest (xl sysrq). */
	int (*sysrq)(void *opaque, char key);
	/* xl trigger: the ACPI power button, a hard reset, or an NMI. */
	int (*trigger)(void *opaque, const char *kind, unsigned int vcpu);
	/* xl save: pauses the domain, writes its state to `path` (absolute),
	 * and ends it once the file is complete; on any failure before that
	 * the domain runs on and no file is left under `path`. */
	int (*save)(void *opaque, const char *path);
	/* xl migrate's sending half: connects to the unix socket `path`
	 * (absolute; the CLI relays it to the receiver), pauses the domain,
	 * writes the stream there and waits for the receiver's confirmation
	 * (docs/SAVE-FORMAT.md, "Migration"); ends the domain once confirmed.
	 * Any failure or EOF before that: the domain runs on. */
	int (*migrate_send)(void *opaque, const char *path);
};

struct event_loop;
struct control_server;

/*
 * Binds `path` (a stale socket there is replaced; mode 0600, see
 * unix_listener.h), listens and serves clients from `loop` (which may
 * already be running).  Up to CONTROL_MAX_CLIENTS at once; a new client
 * beyond that closes the one silent longest if it sent nothing for
 * CONTROL_IDLE_MS, and is itself closed when every client is active, so
 * clients that connect and say nothing cannot lock the CLI out.
 */
#define CONTROL_MAX_CLIENTS 16
#define CONTROL_IDLE_MS 5000
int control_server_start(struct event_loop *loop, const char *path,
			 const struct control_handlers *h, void *opaque,
			 struct control_server **srv_r);
/* How long a client must be silent to count as idle (tests shorten it). */
void control_server_set_idle(struct control_server *srv, unsigned int idle_ms);
/* Idle clients closed to make room for new ones. */
unsigned long control_server_evicted(const struct control_server *srv);
/* From inside a handler: the message of the error reply being built. */
void control_server_set_message(struct control_server *srv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Closes every client and unlinks the socket.  Call after event_loop_stop()
 * or from the loop's thread. */
void control_server_free(struct control_server *srv);
unsigned int control_server_clients(const struct control_server *srv);

/* --- client (in the CLI) ----------------------------------------------- */

/*
 * One request, one reply, blocking with a timeout.  0 with *rep filled
 * (rep->error may still be set by the daemon), or -errno for transport
 * problems: -ENOENT/-ECONNREFUSED (no daemon listening), -ETIMEDOUT,
 * -ECONNRESET (daemon closed before replying), -EPROTO (unreadable reply;
 * err says why).
 */
int control_call(const char *path, const struct control_request *req, int timeout_ms,
		 struct control_reply *rep, char *err, size_t errlen);

#endif
