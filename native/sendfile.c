/*
 * Zero-copy blob pulls: sends a byte range of an open file to a connected socket with
 * sendfile(2), driven by the Node.js event loop (a libuv poll on the socket: the kernel copies
 * from the page cache to the socket while the socket has room, and the loop goes on with other
 * work while it has none). No bytes pass through JavaScript buffers and no thread is held.
 *
 * sendFile(socketFd, fileFd, offset, length, idleMs, done) starts the transfer and returns;
 * done(error: string | null, sent: number) is called once, when every byte was handed to the
 * kernel, or on an error, or when the socket took no byte for idleMs (a stalled client).
 * Both descriptors are duplicated first, so the transfer never writes into a descriptor number
 * that JavaScript closed and the system handed out again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>

/* Bytes per sendfile call, and per wake-up of the loop (then other work gets its turn). */
#define CALL_BYTES (4u << 20)
#define TURN_BYTES (16u << 20)

typedef struct {
  uv_poll_t poll;
  uv_timer_t timer;
  int open_handles;
  int socket_fd;
  int file_fd;
  off_t offset;
  uint64_t remaining;
  uint64_t sent;
  uint64_t idle_ms;
  int finished;
  char error[128];
  napi_env env;
  napi_ref done;
  napi_async_context context;
} transfer_t;

static void on_closed(uv_handle_t *handle) {
  transfer_t *t = (transfer_t *)handle->data;
  if (--t->open_handles > 0) return;
  free(t);
}

static void finish(transfer_t *t, const char *error) {
  if (t->finished) return;
  t->finished = 1;
  if (error) snprintf(t->error, sizeof t->error, "%s", error);
  uv_poll_stop(&t->poll);
  uv_timer_stop(&t->timer);
  close(t->socket_fd);
  close(t->file_fd);

  napi_env env = t->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value done, recv, argv[2];
  napi_get_reference_value(env, t->done, &done);
  napi_get_global(env, &recv);
  if (t->error[0]) napi_create_string_utf8(env, t->error, NAPI_AUTO_LENGTH, &argv[0]);
  else napi_get_null(env, &argv[0]);
  napi_create_double(env, (double)t->sent, &argv[1]);
  napi_value result;
  /* make_callback: runs the microtasks and next-tick queue the callback leaves, as libuv callbacks do. */
  napi_make_callback(env, t->context, recv, done, 2, argv, &result);
  napi_delete_reference(env, t->done);
  napi_async_destroy(env, t->context);
  napi_close_handle_scope(env, scope);

  uv_close((uv_handle_t *)&t->poll, on_closed);
  uv_close((uv_handle_t *)&t->timer, on_closed);
}

static void on_idle(uv_timer_t *timer) {
  finish((transfer_t *)timer->data, "the client took no byte for the idle timeout");
}

static void on_writable(uv_poll_t *poll, int status, int events) {
  transfer_t *t = (transfer_t *)poll->data;
  (void)events;
  if (status < 0) {
    finish(t, uv_strerror(status));
    return;
  }
  uint64_t turn = 0;
  while (t->remaining > 0 && turn < TURN_BYTES) {
    size_t want = t->remaining < CALL_BYTES ? (size_t)t->remaining : CALL_BYTES;
    ssize_t n = sendfile(t->socket_fd, t->file_fd, &t->offset, want);
    if (n > 0) {
      t->remaining -= (uint64_t)n;
      t->sent += (uint64_t)n;
      turn += (uint64_t)n;
      continue;
    }
    if (n == 0) {
      finish(t, "the file ended before the range did");
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    finish(t, strerror(errno));
    return;
  }
  if (t->remaining == 0) {
    finish(t, NULL);
    return;
  }
  if (turn > 0) uv_timer_again(&t->timer);
}

static napi_value throw_error(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

static napi_value send_file(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 6) return throw_error(env, "sendFile(socketFd, fileFd, offset, length, idleMs, done)");
  int32_t socket_fd, file_fd;
  int64_t offset, length, idle_ms;
  napi_valuetype done_type;
  if (napi_get_value_int32(env, argv[0], &socket_fd) != napi_ok || napi_get_value_int32(env, argv[1], &file_fd) != napi_ok ||
      napi_get_value_int64(env, argv[2], &offset) != napi_ok || napi_get_value_int64(env, argv[3], &length) != napi_ok ||
      napi_get_value_int64(env, argv[4], &idle_ms) != napi_ok || napi_typeof(env, argv[5], &done_type) != napi_ok || done_type != napi_function ||
      socket_fd < 0 || file_fd < 0 || offset < 0 || length < 0 || idle_ms <= 0)
    return throw_error(env, "sendFile: bad arguments");

  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return throw_error(env, "sendFile: no event loop");
  transfer_t *t = calloc(1, sizeof *t);
  if (!t) return throw_error(env, "sendFile: out of memory");
  t->socket_fd = fcntl(socket_fd, F_DUPFD_CLOEXEC, 0);
  t->file_fd = fcntl(file_fd, F_DUPFD_CLOEXEC, 0);
  if (t->socket_fd < 0 || t->file_fd < 0) {
    if (t->socket_fd >= 0) close(t->socket_fd);
    if (t->file_fd >= 0) close(t->file_fd);
    free(t);
    return throw_error(env, "sendFile: cannot duplicate the descriptors");
  }
  t->offset = (off_t)offset;
  t->remaining = (uint64_t)length;
  t->idle_ms = (uint64_t)idle_ms;
  t->env = env;
  napi_create_reference(env, argv[5], 1, &t->done);
  napi_value name, resource;
  napi_create_string_utf8(env, "berth.sendFile", NAPI_AUTO_LENGTH, &name);
  napi_create_object(env, &resource);
  napi_async_init(env, resource, name, &t->context);

  uv_timer_init(loop, &t->timer);
  t->timer.data = t;
  t->open_handles = 1;
  if (uv_poll_init(loop, &t->poll, t->socket_fd) != 0) {
    /* Not pollable: fail through the callback, like any later error. */
    t->poll.data = t;
    t->finished = 1;
    close(t->socket_fd);
    close(t->file_fd);
    napi_delete_reference(env, t->done);
    napi_async_destroy(env, t->context);
    uv_close((uv_handle_t *)&t->timer, on_closed);
    return throw_error(env, "sendFile: the socket cannot be polled");
  }
  t->poll.data = t;
  t->open_handles = 2;
  uv_timer_start(&t->timer, on_idle, t->idle_ms, t->idle_ms);
  if (length == 0) {
    finish(t, NULL);
    return NULL;
  }
  uv_poll_start(&t->poll, UV_WRITABLE, on_writable);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "sendFile", NAPI_AUTO_LENGTH, send_file, NULL, &fn);
  napi_set_named_property(env, exports, "sendFile", fn);
  return exports;
}
