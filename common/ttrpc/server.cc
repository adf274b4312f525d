#include "common/ttrpc/server.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "common/ttrpc/frame.h"
#include "common/ttrpc/status_code.h"
#include "ttrpc.pb.h"

namespace sandbox::ttrpc {
namespace {

std::string EncodeResponse(const Result<std::string>& result) {
  Response response;
  if (result.ok()) {
    response.set_payload(*result);
  } else {
    response.mutable_status()->set_code(ToRpcCode(result.status().code()));
    response.mutable_status()->set_message(result.status().message());
  }
  std::string encoded;
  response.SerializeToString(&encoded);
  return encoded;
}

}  // namespace

void Server::Register(const std::string& service, const std::string& method, Handler handler) {
  handlers_[service + "/" + method] = std::move(handler);
}

Status Server::ServeConnection(UniqueFd connection) const {
  std::mutex write_mutex;
  struct Call {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Call> calls;
  // Finished calls are joined as new ones arrive, so a long-lived connection
  // does not accumulate threads.
  auto reap = [&calls] {
    std::erase_if(calls, [](Call& call) {
      if (!call.done->load()) return false;
      call.thread.join();
      return true;
    });
  };
  auto respond = [&](uint32_t stream_id, const Result<std::string>& result) {
    std::lock_guard<std::mutex> lock(write_mutex);
    // A failed write means the peer is gone; the read loop notices too.
    (void)WriteFrame(connection.get(), stream_id, FrameType::kResponse, 0, EncodeResponse(result));
  };
  Status ended = Status::Ok();
  for (;;) {
    Result<Frame> frame = ReadFrame(connection.get());
    if (!frame.ok()) {
      bool clean = frame.status().message() == "ttrpc: connection closed";
      if (!clean) ended = frame.status();
      break;
    }
    if (frame->oversized) {
      respond(frame->stream_id, InvalidArgument("ttrpc: message of " + std::to_string(frame->declared_length) +
                                                " bytes exceeds the " + std::to_string(kMaxMessageSize) +
                                                "-byte limit"));
      continue;
    }
    if (frame->type != static_cast<uint8_t>(FrameType::kRequest)) {
      respond(frame->stream_id, InvalidArgument("ttrpc: unexpected frame type " + std::to_string(frame->type)));
      continue;
    }
    if (frame->stream_id % 2 == 0) {
      respond(frame->stream_id, InvalidArgument("ttrpc: client stream ids must be odd"));
      continue;
    }
    Request request;
    if (!request.ParseFromString(frame->payload)) {
      respond(frame->stream_id, InvalidArgument("ttrpc: malformed request"));
      continue;
    }
    auto handler = handlers_.find(request.service() + "/" + request.method());
    if (handler == handlers_.end()) {
      respond(frame->stream_id, Unimplemented("ttrpc: " + request.service() + "/" + request.method() +
                                              " is not implemented"));
      continue;
    }
    CallContext context{.service = request.service(), .method = request.method(), .deadline = {}, .metadata = {}};
    if (request.timeout_nano() > 0) {
      context.deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(request.timeout_nano());
    }
    for (const KeyValue& entry : request.metadata()) context.metadata.emplace_back(entry.key(), entry.value());
    reap();
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::thread thread([&respond, &function = handler->second, stream_id = frame->stream_id,
                        payload = std::move(*request.mutable_payload()), context = std::move(context), done] {
      respond(stream_id, function(payload, context));
      done->store(true);
    });
    calls.push_back(Call{std::move(thread), std::move(done)});
  }
  for (Call& call : calls) call.thread.join();
  return ended;
}

}  // namespace sandbox::ttrpc
