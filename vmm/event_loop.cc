#include "vmm/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <fmt/format.h>

namespace sandbox::vmm {

Result<EventFd> EventFd::Create(bool nonblocking) {
  EventFd event;
  event.fd_ = UniqueFd(eventfd(0, EFD_CLOEXEC | (nonblocking ? EFD_NONBLOCK : 0)));
  if (!event.fd_.valid()) return ErrnoStatus("eventfd", "device event");
  return event;
}

void EventFd::Signal() const {
  const uint64_t one = 1;
  // EAGAIN means the counter is saturated: the reader is woken anyway.
  [[maybe_unused]] ssize_t written = ::write(fd(), &one, sizeof(one));
}

bool EventFd::Consume() const {
  uint64_t value = 0;
  return ::read(fd(), &value, sizeof(value)) == sizeof(value) && value > 0;
}

Result<std::unique_ptr<EventLoop>> EventLoop::Create() {
  std::unique_ptr<EventLoop> loop(new EventLoop());
  loop->epoll_ = UniqueFd(epoll_create1(EPOLL_CLOEXEC));
  if (!loop->epoll_.valid()) return ErrnoStatus("epoll_create1", "device event loop");
  loop->stop_event_ = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!loop->stop_event_.valid()) return ErrnoStatus("eventfd", "event loop stop");
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = loop->stop_event_.get();
  if (epoll_ctl(loop->epoll_.get(), EPOLL_CTL_ADD, loop->stop_event_.get(), &event) != 0) {
    return ErrnoStatus("epoll_ctl", "event loop stop");
  }
  return loop;
}

Status EventLoop::Add(int fd, uint32_t events, Handler handler) {
  std::lock_guard lock(mutex_);
  epoll_event event{};
  event.events = events;
  event.data.fd = fd;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) return ErrnoStatus("epoll_ctl add", fmt::format("fd {}", fd));
  handlers_[fd] = std::make_shared<Handler>(std::move(handler));
  return Status::Ok();
}

Status EventLoop::Modify(int fd, uint32_t events) {
  epoll_event event{};
  event.events = events;
  event.data.fd = fd;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &event) != 0) return ErrnoStatus("epoll_ctl mod", fmt::format("fd {}", fd));
  return Status::Ok();
}

void EventLoop::Remove(int fd) {
  std::lock_guard lock(mutex_);
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  handlers_.erase(fd);
}

void EventLoop::Run() {
  constexpr int kMaxEvents = 32;
  epoll_event events[kMaxEvents];
  for (;;) {
    const int count = epoll_wait(epoll_.get(), events, kMaxEvents, -1);
    if (count < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < count; ++i) {
      const int fd = events[i].data.fd;
      if (fd == stop_event_.get()) return;
      std::shared_ptr<Handler> handler;
      {
        std::lock_guard lock(mutex_);
        auto it = handlers_.find(fd);
        if (it == handlers_.end()) continue;  // removed by an earlier handler
        handler = it->second;
      }
      (*handler)(events[i].events);
    }
  }
}

void EventLoop::Stop() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t written = ::write(stop_event_.get(), &one, sizeof(one));
}

}  // namespace sandbox::vmm
