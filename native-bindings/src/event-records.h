// Numeric contract between the addon and TypeScript.
//
// Every value here is mirrored in lib/drivers/enet-binding.ts, and the addon
// also exports them on the module object so a spec can assert both sides
// agree. Change both files together and bump kLayoutVersion when a record
// layout or the set of functions changes (2: bindBuffers, serviceBound,
// sendBound).
#ifndef NETPEER_EVENT_RECORDS_H_
#define NETPEER_EVENT_RECORDS_H_

#include <cstdint>

namespace netpeer {

constexpr int32_t kLayoutVersion = 2;

// Event record types written by Host#service().
constexpr uint8_t kEventConnect = 1;
constexpr uint8_t kEventDisconnect = 2;
constexpr uint8_t kEventDisconnectTimeout = 3;
constexpr uint8_t kEventReceive = 4;

// Status codes: hot-path calls return >= 0 on success, one of these on failure.
constexpr int32_t kErrResolve = -2;     // address is not an IP literal
constexpr int32_t kErrHostCreate = -3;  // socket/bind failed (address in use...)
constexpr int32_t kErrNoPeer = -4;      // no free peer slot for connect()
constexpr int32_t kErrState = -5;       // host not open (or already open)
constexpr int32_t kErrBadPeer = -6;     // peer handle out of range
constexpr int32_t kErrBadBatch = -7;    // send batch record out of bounds
constexpr int32_t kErrRange = -8;       // numeric argument outside its range
constexpr int32_t kErrUnsupported = -9; // not available on this platform

// Packet flags accepted in send records (the ENet values). Other ENet flags
// are masked out: NO_ALLOCATE would make ENet keep a pointer into JS memory.
constexpr uint32_t kPacketFlagReliable = 1u << 0;
constexpr uint32_t kPacketFlagUnsequenced = 1u << 1;
constexpr uint32_t kPacketFlagUnreliableFragment = 1u << 3;
constexpr uint32_t kSendFlagMask =
    kPacketFlagReliable | kPacketFlagUnsequenced | kPacketFlagUnreliableFragment;

// Event record (service output), little-endian, 4-byte aligned:
//   +0  u8  type
//   +1  u8  channelId (receive) | negotiated channelCount (connect) | 0
//   +2  u8  packet flags, low 8 bits (receive) | 0
//   +3  u8  reserved, 0
//   +4  u32 peer handle (index in host->peers)
//   +8  u32 data (connect/disconnect) | 0
//   +12 u32 payload length (receive) | 0
//   +16 payload, then zero padding up to the next multiple of 4
constexpr uint32_t kRecordHeaderBytes = 16;
constexpr uint32_t kRecordTypeOffset = 0;
constexpr uint32_t kRecordChannelOffset = 1;
constexpr uint32_t kRecordFlagsOffset = 2;
constexpr uint32_t kRecordPeerOffset = 4;
constexpr uint32_t kRecordDataOffset = 8;
constexpr uint32_t kRecordLengthOffset = 12;

// Send record (send input), little-endian, 4-byte aligned:
//   +0  u32 payload length
//   +4  u16 target count N
//   +6  u8  channelId
//   +7  u8  reserved
//   +8  u32 packet flags
//   +12 N x u32 peer handles, then the payload, then padding to a multiple of 4
constexpr uint32_t kSendHeaderBytes = 12;
constexpr uint32_t kSendLengthOffset = 0;
constexpr uint32_t kSendTargetCountOffset = 4;
constexpr uint32_t kSendChannelOffset = 6;
constexpr uint32_t kSendFlagsOffset = 8;

// Float64Array slots filled by Host#peerStats().
constexpr uint32_t kPeerStatsLength = 12;
// Float64Array slots filled by Host#hostStats(). Slots were only ever
// appended, the earlier ones keep their meaning:
//   0 bytesSent, 1 bytesReceived, 2 packetsSent, 3 packetsReceived,
//   4 serviceErrors (truncated datagrams, larger than ENet's 4,096-byte
//     buffer, included), 5 oversizeDropped, 6 sendSkipped, 7 connectedPeers,
//   8 refusedConnections, 9 unreliableDroppedWhileStalled, 10 heldEvents,
//   11 emptyDatagramsDropped, 12 malformedDropped,
//   13 datagrams sent in sendmmsg() batches (send-batch.h),
//   14 datagrams read through the read-ahead (receive-batch.h).
// hostStats() still accepts an array of a previous length (9, 11 or 13) and
// then fills only the slots that length had.
constexpr uint32_t kHostStatsLength = 15;
constexpr uint32_t kHostStatsLengthV3 = 13;
constexpr uint32_t kHostStatsLengthV2 = 11;
constexpr uint32_t kHostStatsMinimumLength = 9;
// Float64Array slots filled by Host#impairmentStats(): per direction
// (outgoing at 0, incoming at 5) dropped, duplicated, delayed, reordered,
// queueOverflowDropped.
constexpr uint32_t kImpairmentStatsLength = 10;

// Records start at multiples of 4 so JS can read them with a DataView
// without unaligned access penalties.
constexpr uint64_t AlignRecord(uint64_t offset) {
  return (offset + 3u) & ~static_cast<uint64_t>(3u);
}

}  // namespace netpeer

#endif  // NETPEER_EVENT_RECORDS_H_
