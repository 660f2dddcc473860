/*
 * Separate-process baselines for `bun run bench`. libzmq is opened with dlopen (the same .so the
 * product embeds), so no headers are needed. Modes:
 *   peers zmq-echo   <libzmq.so> <endpoint>                   ROUTER echo server (blocking recv)
 *   peers zmq-client <libzmq.so> <endpoint> <inflight> <ms>   DEALER keeping N requests in flight; prints rt/s
 *   peers zmq-paced  <libzmq.so> <endpoint> <per-second> <ms> one request at a time at a fixed rate (CPU at light load)
 *   peers unix-echo  <path>                                   AF_UNIX stream echo server (one client)
 *   peers unix-client <path> <inflight> <ms>                  AF_UNIX ping-pong floor; prints rt/s
 * Every request is ~200 bytes of JSON with a fresh correlation, as a tool call is.
 */
#include <dlfcn.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define ZMQ_ROUTER 6
#define ZMQ_DEALER 5
#define ZMQ_SNDMORE 2
#define ZMQ_RCVMORE 13
#define ZMQ_LINGER 17
#define ZMQ_SNDHWM 23
#define ZMQ_RCVHWM 24

static void *(*ctx_new)(void);
static void *(*zsocket)(void *, int);
static int (*zbind)(void *, const char *);
static int (*zconnect)(void *, const char *);
static int (*zsend)(void *, const void *, size_t, int);
static int (*zrecv)(void *, void *, size_t, int);
static int (*zgetsockopt)(void *, int, void *, size_t *);
static int (*zsetsockopt)(void *, int, const void *, size_t);

static void load(const char *path) {
  void *h = dlopen(path, RTLD_LAZY) /* the addon's N-API symbols are never called */;
  if (!h) { fprintf(stderr, "dlopen %s: %s\n", path, dlerror()); exit(1); }
  ctx_new = dlsym(h, "zmq_ctx_new");
  zsocket = dlsym(h, "zmq_socket");
  zbind = dlsym(h, "zmq_bind");
  zconnect = dlsym(h, "zmq_connect");
  zsend = dlsym(h, "zmq_send");
  zrecv = dlsym(h, "zmq_recv");
  zgetsockopt = dlsym(h, "zmq_getsockopt");
  zsetsockopt = dlsym(h, "zmq_setsockopt");
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int request(char *buf, unsigned long long n) {
  return sprintf(buf,
                 "{\"topic\":\"tool.invoke.hello.echo\",\"correlation\":\"6f1c2a9e-0000-4000-8000-%012llx\","
                 "\"arguments\":{\"message\":\"%s\"}}",
                 n, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

static int zmq_echo(const char *endpoint) {
  void *s = zsocket(ctx_new(), ZMQ_ROUTER);
  int hwm = 0;
  zsetsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
  zsetsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
  if (zbind(s, endpoint) != 0) { perror("bind"); return 1; }
  printf("ready\n");
  fflush(stdout);
  static char frames[8][65536];
  int lens[8];
  for (;;) {
    int n = 0, more = 1;
    size_t sz = sizeof more;
    while (more && n < 8) {
      lens[n] = zrecv(s, frames[n], sizeof frames[n], 0);
      if (lens[n] < 0) return 1;
      n++;
      zgetsockopt(s, ZMQ_RCVMORE, &more, &sz);
    }
    for (int i = 0; i < n; i++) zsend(s, frames[i], lens[i], i < n - 1 ? ZMQ_SNDMORE : 0);
  }
}

static int zmq_client(const char *endpoint, int inflight, int ms) {
  void *s = zsocket(ctx_new(), ZMQ_DEALER);
  int zero = 0;
  zsetsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
  if (zconnect(s, endpoint) != 0) { perror("connect"); return 1; }
  char buf[512], in[65536];
  unsigned long long sent = 0, done = 0;
  for (int i = 0; i < inflight; i++) {
    int len = request(buf, sent++);
    zsend(s, "", 0, ZMQ_SNDMORE);
    zsend(s, buf, len, 0);
  }
  double start = now_ms(), deadline = start + ms;
  long outstanding = inflight;
  while (outstanding > 0) {
    int more = 1;
    size_t sz = sizeof more;
    while (more) {
      if (zrecv(s, in, sizeof in, 0) < 0) return 1;
      zgetsockopt(s, ZMQ_RCVMORE, &more, &sz);
    }
    if (strstr(in, "\"heartbeat\"")) continue;
    done++;
    outstanding--;
    if (now_ms() < deadline) {
      int len = request(buf, sent++);
      zsend(s, "", 0, ZMQ_SNDMORE);
      zsend(s, buf, len, 0);
      outstanding++;
    }
  }
  printf("%.0f\n", done / ((now_ms() - start) / 1e3));
  return 0;
}

static int zmq_paced(const char *endpoint, int rate, int ms) {
  void *s = zsocket(ctx_new(), ZMQ_DEALER);
  int zero = 0;
  zsetsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
  if (zconnect(s, endpoint) != 0) { perror("connect"); return 1; }
  char buf[512], in[65536];
  double start = now_ms(), gap = 1e3 / rate;
  /* Fresh correlations on every run (48 bits: the ms clock above 4096 calls a run): a repeated one would be
     answered from the core's reply cache, not run, and the next repetition would measure replays. */
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  unsigned long long first = (((unsigned long long)wall.tv_sec * 1000 + wall.tv_nsec / 1000000) & 0xFFFFFFFFFULL) << 12;
  unsigned long long n = first;
  for (double next = start; next < start + ms; next += gap) {
    double wait = next - now_ms();
    if (wait > 0) usleep((useconds_t)(wait * 1e3));
    int len = request(buf, n++);
    zsend(s, "", 0, ZMQ_SNDMORE);
    zsend(s, buf, len, 0);
    int more = 1;
    size_t sz = sizeof more;
    while (more) {
      if (zrecv(s, in, sizeof in, 0) < 0) return 1;
      zgetsockopt(s, ZMQ_RCVMORE, &more, &sz);
    }
  }
  printf("%llu\n", n - first);
  return 0;
}

static int unix_echo(const char *path) {
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strncpy(a.sun_path, path, sizeof a.sun_path - 1);
  unlink(path);
  if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0) { perror("bind"); return 1; }
  printf("ready\n");
  fflush(stdout);
  char buf[65536];
  for (;;) { /* one client at a time */
    int c = accept(l, 0, 0);
    for (;;) {
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0 || write(c, buf, n) != n) break;
    }
    close(c);
  }
}

static int unix_client(const char *path, int inflight, int ms) {
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strncpy(a.sun_path, path, sizeof a.sun_path - 1);
  if (connect(c, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); return 1; }
  char buf[512], in[65536];
  int len = request(buf, 0);
  for (int i = 0; i < inflight; i++) write(c, buf, len);
  unsigned long long done = 0;
  long pending = 0; /* bytes of the current reply read so far */
  long outstanding = inflight;
  double start = now_ms(), deadline = start + ms;
  while (outstanding > 0) {
    ssize_t n = read(c, in, sizeof in);
    if (n <= 0) return 1;
    pending += n;
    while (pending >= len) {
      pending -= len;
      done++;
      outstanding--;
      if (now_ms() < deadline) {
        write(c, buf, len);
        outstanding++;
      }
    }
  }
  printf("%.0f\n", done / ((now_ms() - start) / 1e3));
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && !strcmp(argv[1], "zmq-echo")) { load(argv[2]); return zmq_echo(argv[3]); }
  if (argc >= 6 && !strcmp(argv[1], "zmq-client")) { load(argv[2]); return zmq_client(argv[3], atoi(argv[4]), atoi(argv[5])); }
  if (argc >= 6 && !strcmp(argv[1], "zmq-paced")) { load(argv[2]); return zmq_paced(argv[3], atoi(argv[4]), atoi(argv[5])); }
  if (argc >= 3 && !strcmp(argv[1], "unix-echo")) return unix_echo(argv[2]);
  if (argc >= 5 && !strcmp(argv[1], "unix-client")) return unix_client(argv[2], atoi(argv[3]), atoi(argv[4]));
  fprintf(stderr, "usage: see the comment at the top of peers.c\n");
  return 2;
}
