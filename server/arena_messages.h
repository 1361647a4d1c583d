// The request and response of a unary call on one protobuf Arena, for gRPC's callback API
// (SetMessageAllocatorFor_<Method>). A parsed Elasticsearch answer becomes many small strings
// (ids, index names, sources of every hit); on an arena they cost no malloc each and are freed
// all at once when the call ends, instead of one free each.
//
// Each call's holder carries an inline first block of kInlineBytes, so a typical call allocates
// once (the holder) and a larger one grows the arena in blocks. Code that fills these messages
// must not Swap them with heap messages or move strings out of them: across arenas both copy.
// Thread-safe: AllocateMessages may run on any thread; a holder belongs to one call.
#pragma once

#include <grpcpp/support/message_allocator.h>

#include <cstddef>

#include "google/protobuf/arena.h"

namespace esgw {

template <typename Request, typename Response>
class ArenaMessageAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  // Enough for a search of ten hits of a few hundred bytes each, or a small Bulk request.
  static constexpr size_t kInlineBytes = 8 * 1024;

  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder(); }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(Options(block_)) {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    void Release() override { delete this; }

   private:
    static google::protobuf::ArenaOptions Options(char* block) {
      google::protobuf::ArenaOptions options;
      options.initial_block = block;
      options.initial_block_size = kInlineBytes;
      return options;
    }

    // Declared before arena_, which uses it from construction to destruction.
    alignas(std::max_align_t) char block_[kInlineBytes];
    google::protobuf::Arena arena_;
  };
};

}  // namespace esgw
