#include "common/net/tc_mirror.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <sys/socket.h>

#include <string>

#include "common/net/link.h"

namespace sandbox::net {
namespace {

constexpr uint32_t kIngressHandle = 0xffff0000;  // "ffff:"
constexpr uint32_t kFilterPriority = 1;
constexpr char kIngressKind[] = "ingress";
constexpr char kU32Kind[] = "u32";
constexpr char kMirredKind[] = "mirred";

tcmsg IngressQdiscHeader(int index) {
  tcmsg header{};
  header.tcm_family = AF_UNSPEC;
  header.tcm_ifindex = index;
  header.tcm_handle = kIngressHandle;
  header.tcm_parent = TC_H_INGRESS;
  return header;
}

Status AddIngressQdisc(NetlinkSocket& socket, int index) {
  NetlinkMessage request(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL);
  request.AppendHeader(IngressQdiscHeader(index));
  request.AddString(TCA_KIND, kIngressKind);
  return socket.Request(request, "RTM_NEWQDISC ingress on " + LinkLabel(socket, index));
}

// One u32 key with mask 0 matches every frame; TC_U32_TERMINAL ends the
// lookup at this node. The selector is followed by its keys in one value.
std::vector<uint8_t> MatchAllSelector() {
  tc_u32_sel selector{};
  selector.flags = TC_U32_TERMINAL;
  selector.nkeys = 1;
  const tc_u32_key key{};
  std::vector<uint8_t> bytes(sizeof(selector) + sizeof(key));
  std::memcpy(bytes.data(), &selector, sizeof(selector));
  std::memcpy(bytes.data() + sizeof(selector), &key, sizeof(key));
  return bytes;
}

void AddRedirectAction(NetlinkMessage& request, int to_index) {
  const size_t actions = request.BeginNested(TCA_U32_ACT);
  const size_t first = request.BeginNested(1);  // action order 1
  request.AddString(TCA_ACT_KIND, kMirredKind);
  const size_t options = request.BeginNested(TCA_ACT_OPTIONS);
  tc_mirred mirred{};
  mirred.action = TC_ACT_STOLEN;  // the frame is consumed: it leaves on `to_index` only
  mirred.eaction = TCA_EGRESS_REDIR;
  mirred.ifindex = static_cast<uint32_t>(to_index);
  request.AddRaw(TCA_MIRRED_PARMS, mirred);
  request.EndNested(options);
  request.EndNested(first);
  request.EndNested(actions);
}

Status AddRedirectFilter(NetlinkSocket& socket, int from_index, int to_index) {
  NetlinkMessage request(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL);
  tcmsg header{};
  header.tcm_family = AF_UNSPEC;
  header.tcm_ifindex = from_index;
  header.tcm_parent = kIngressHandle;
  header.tcm_info = TC_H_MAKE(kFilterPriority << 16, htons(ETH_P_ALL));
  request.AppendHeader(header);
  request.AddString(TCA_KIND, kU32Kind);
  const size_t options = request.BeginNested(TCA_OPTIONS);
  request.AddAttribute(TCA_U32_SEL, MatchAllSelector());
  AddRedirectAction(request, to_index);
  request.EndNested(options);
  return socket.Request(request, "RTM_NEWTFILTER u32 mirred to " + LinkLabel(socket, to_index) +
                                     " on " + LinkLabel(socket, from_index));
}

Status MirrorLinksOrFail(NetlinkSocket& socket, int a_index, int b_index, bool& added_a,
                         bool& added_b) {
  SANDBOX_RETURN_IF_ERROR(AddIngressQdisc(socket, a_index));
  added_a = true;
  SANDBOX_RETURN_IF_ERROR(AddIngressQdisc(socket, b_index));
  added_b = true;
  SANDBOX_RETURN_IF_ERROR(AddRedirectFilter(socket, a_index, b_index));
  return AddRedirectFilter(socket, b_index, a_index);
}

// The redirect target of one mirred action entry, if it is one.
Result<std::optional<int>> MirredTarget(Bytes action_entry) {
  SANDBOX_ASSIGN_OR_RETURN(const Attributes action, Attributes::Parse(action_entry));
  if (!action.Has(TCA_ACT_KIND) || !action.Has(TCA_ACT_OPTIONS)) return std::optional<int>();
  SANDBOX_ASSIGN_OR_RETURN(const std::string kind, action.String(TCA_ACT_KIND));
  if (kind != kMirredKind) return std::optional<int>();
  SANDBOX_ASSIGN_OR_RETURN(const Attributes options, action.Nested(TCA_ACT_OPTIONS));
  SANDBOX_ASSIGN_OR_RETURN(const tc_mirred mirred, options.Raw<tc_mirred>(TCA_MIRRED_PARMS));
  if (mirred.eaction != TCA_EGRESS_REDIR) return std::optional<int>();
  return std::optional<int>(static_cast<int>(mirred.ifindex));
}

// A u32 filter's redirect target; u32 also dumps its hash table nodes,
// which carry no actions.
Result<std::optional<int>> FilterRedirect(const NetlinkMessageView& message) {
  Bytes rest;
  SANDBOX_ASSIGN_OR_RETURN(const tcmsg header, ReadHeader<tcmsg>(message.payload, &rest));
  (void)header;
  SANDBOX_ASSIGN_OR_RETURN(const Attributes attributes, Attributes::Parse(rest));
  if (!attributes.Has(TCA_KIND) || !attributes.Has(TCA_OPTIONS)) return std::optional<int>();
  SANDBOX_ASSIGN_OR_RETURN(const std::string kind, attributes.String(TCA_KIND));
  if (kind != kU32Kind) return std::optional<int>();
  SANDBOX_ASSIGN_OR_RETURN(const Attributes options, attributes.Nested(TCA_OPTIONS));
  if (!options.Has(TCA_U32_ACT)) return std::optional<int>();
  SANDBOX_ASSIGN_OR_RETURN(const Attributes actions, options.Nested(TCA_U32_ACT));
  for (const auto& [order, entry] : actions.all()) {
    SANDBOX_ASSIGN_OR_RETURN(const std::optional<int> target, MirredTarget(entry));
    if (target.has_value()) return target;
  }
  return std::optional<int>();
}

Result<bool> HasIngressQdisc(NetlinkSocket& socket, int index) {
  NetlinkMessage request(RTM_GETQDISC, 0);
  request.AppendHeader(tcmsg{});
  bool found = false;
  const Status status =
      socket.Dump(request, "RTM_GETQDISC dump", [&](const NetlinkMessageView& message) -> Status {
        Bytes rest;
        SANDBOX_ASSIGN_OR_RETURN(const tcmsg header, ReadHeader<tcmsg>(message.payload, &rest));
        if (header.tcm_ifindex != index || header.tcm_parent != TC_H_INGRESS) return Status::Ok();
        SANDBOX_ASSIGN_OR_RETURN(const Attributes attributes, Attributes::Parse(rest));
        SANDBOX_ASSIGN_OR_RETURN(const std::string kind, attributes.String(TCA_KIND));
        if (kind == kIngressKind) found = true;
        return Status::Ok();
      });
  SANDBOX_RETURN_IF_ERROR(status);
  return found;
}

}  // namespace

Status MirrorLinks(NetlinkSocket& socket, int a_index, int b_index) {
  bool added_a = false;
  bool added_b = false;
  const Status status = MirrorLinksOrFail(socket, a_index, b_index, added_a, added_b);
  if (status.ok()) return status;
  // Best effort: the first error is the one worth reporting.
  if (added_a) (void)RemoveMirror(socket, a_index);
  if (added_b) (void)RemoveMirror(socket, b_index);
  return status;
}

Status RemoveMirror(NetlinkSocket& socket, int index) {
  NetlinkMessage request(RTM_DELQDISC, 0);
  request.AppendHeader(IngressQdiscHeader(index));
  return socket.Request(request, "RTM_DELQDISC ingress on " + LinkLabel(socket, index));
}

Result<MirrorState> InspectMirror(NetlinkSocket& socket, int index) {
  MirrorState state;
  SANDBOX_ASSIGN_OR_RETURN(state.ingress_qdisc, HasIngressQdisc(socket, index));
  if (!state.ingress_qdisc) return state;
  NetlinkMessage request(RTM_GETTFILTER, 0);
  tcmsg header{};
  header.tcm_ifindex = index;
  header.tcm_parent = kIngressHandle;
  request.AppendHeader(header);
  const std::string what = "RTM_GETTFILTER dump ingress of " + LinkLabel(socket, index);
  const Status status =
      socket.Dump(request, what, [&](const NetlinkMessageView& message) -> Status {
        SANDBOX_ASSIGN_OR_RETURN(const std::optional<int> target, FilterRedirect(message));
        if (target.has_value() && !state.redirect_index.has_value()) state.redirect_index = target;
        return Status::Ok();
      });
  SANDBOX_RETURN_IF_ERROR(status);
  return state;
}

}  // namespace sandbox::net
