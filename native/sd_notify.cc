// sd_notify(3) without libsystemd: one AF_UNIX datagram to $NOTIFY_SOCKET (path or abstract "@name").
// Thin by design: the TypeScript status layer decides what to send and when.
#include <napi.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace enrolld {

// sdNotify(state: string, socketPath?: string): boolean
// Returns false when no notify socket is configured; throws on a send error.
static Napi::Value SdNotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(env, "sdNotify(state: string, socketPath?: string)");
  }
  std::string state = info[0].As<Napi::String>().Utf8Value();
  std::string path;
  if (info.Length() >= 2 && info[1].IsString()) {
    path = info[1].As<Napi::String>().Utf8Value();
  } else {
    const char* env_path = std::getenv("NOTIFY_SOCKET");
    if (env_path != nullptr) path = env_path;
  }
  if (path.empty()) return Napi::Boolean::New(env, false);

  struct sockaddr_un addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path) || (path[0] != '/' && path[0] != '@')) {
    throw Napi::Error::New(env, "sdNotify: NOTIFY_SOCKET is not an absolute path or abstract name");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  socklen_t addr_len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + path.size());

  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Napi::Error::New(env, std::string("sdNotify: socket: ") + std::strerror(errno));
  ssize_t sent = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                        reinterpret_cast<struct sockaddr*>(&addr), addr_len);
  int saved = errno;
  close(fd);
  if (sent < 0) throw Napi::Error::New(env, std::string("sdNotify: sendto: ") + std::strerror(saved));
  return Napi::Boolean::New(env, true);
}

void InitSdNotify(Napi::Env env, Napi::Object exports) {
  exports.Set("sdNotify", Napi::Function::New(env, SdNotify, "sdNotify"));
}

}  // namespace enrolld
