// An independent TensorBoard event-file decoder for tests: TFRecord framing, CRC-32C and the protobuf
// wire format parsed by hand (no generated code), so the writer is checked against the format itself.
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/test_support.h"

namespace rhotrain::test {

inline uint32_t ref_crc32c(const std::string& s) {
  uint32_t c = ~0u;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
  }
  return ~c;
}
inline uint32_t ref_mask(uint32_t c) { return ((c >> 15) | (c << 17)) + 0xa282ead8u; }

struct Wire {
  const std::string& s;
  size_t p = 0;
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      const uint8_t b = static_cast<uint8_t>(s.at(p++));
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  }
};

struct RefScalar {
  int64_t step;
  std::string tag;
  float value;
};

// Event: 1 wall_time (fixed64), 2 step (varint), 3 file_version (bytes), 5 summary (bytes);
// Summary: 1 value (bytes); Value: 1 tag (bytes), 2 simple_value (fixed32).
inline void decode_event(const std::string& e, std::vector<RefScalar>& scalars, std::string& version) {
  Wire w{e};
  int64_t step = 0;
  std::vector<std::pair<std::string, float>> values;
  while (w.p < e.size()) {
    const uint64_t key = w.varint();
    const int field = static_cast<int>(key >> 3), type = static_cast<int>(key & 7);
    if (type == 0) {
      const uint64_t v = w.varint();
      if (field == 2) step = static_cast<int64_t>(v);
    } else if (type == 1) {
      w.p += 8;
    } else if (type == 5) {
      w.p += 4;
    } else if (type == 2) {
      const size_t len = w.varint();
      const std::string body = e.substr(w.p, len);
      w.p += len;
      if (field == 3) version = body;
      if (field != 5) continue;
      Wire sw{body};
      while (sw.p < body.size()) {
        const uint64_t k = sw.varint();
        const size_t l = sw.varint();
        const std::string value = body.substr(sw.p, l);
        sw.p += l;
        if ((k >> 3) != 1) continue;
        Wire vw{value};
        std::string tag;
        bool has_simple = false;
        float simple = 0;
        while (vw.p < value.size()) {
          const uint64_t vk = vw.varint();
          if ((vk & 7) == 2) {
            const size_t vl = vw.varint();
            if ((vk >> 3) == 1) tag = value.substr(vw.p, vl);
            vw.p += vl;
          } else if ((vk & 7) == 5) {
            if ((vk >> 3) == 2) std::memcpy(&simple, value.data() + vw.p, 4), has_simple = true;
            vw.p += 4;
          } else if ((vk & 7) == 0) {
            vw.varint();
          } else {
            vw.p += 8;
          }
        }
        if (has_simple) values.emplace_back(tag, simple);
      }
    }
  }
  for (const auto& [tag, v] : values) scalars.push_back({step, tag, v});
}

// Returns the scalars; fails the test on any CRC mismatch.
inline std::vector<RefScalar> decode_file(const std::string& path, std::string& version, size_t& records) {
  const std::string raw = test::read_file(path);
  std::vector<RefScalar> out;
  size_t p = 0;
  records = 0;
  while (p + 12 <= raw.size()) {
    uint64_t len;
    uint32_t len_crc, data_crc;
    std::memcpy(&len, raw.data() + p, 8);
    std::memcpy(&len_crc, raw.data() + p + 8, 4);
    EXPECT_EQ(len_crc, ref_mask(ref_crc32c(raw.substr(p, 8)))) << "length CRC at " << p;
    const std::string data = raw.substr(p + 12, len);
    std::memcpy(&data_crc, raw.data() + p + 12 + len, 4);
    EXPECT_EQ(data_crc, ref_mask(ref_crc32c(data))) << "data CRC at " << p;
    decode_event(data, out, version);
    p += 12 + len + 4;
    ++records;
  }
  EXPECT_EQ(p, raw.size());
  return out;
}

}  // namespace rhotrain::test
