// TensorBoard event files: decoded here by an independent reader (TFRecord framing, CRC-32C and the
// protobuf wire format parsed by hand, no generated code), and by rhotrain's own reader.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "tests/tb_reference_decoder.h"
#include "tests/test_support.h"
#include "trainer/events.h"

namespace rhotrain {
namespace {

using test::decode_file;
using test::ref_crc32c;

TEST(Events, Crc32cCheckValue) {
  EXPECT_EQ(crc32c("123456789", 9), 0xe3069283u);
  EXPECT_EQ(ref_crc32c("123456789"), 0xe3069283u);
}

TEST(Events, IndependentDecoderReadsBackEveryRecord) {
  test::TempDir dir;
  std::string name;
  {
    EventWriter w(dir.path());
    name = w.file_name();
    w.text("config", 0, "```\ntrain:\n  steps: 3\n```");
    w.histogram("data/patches_per_material", 0, {1, 2, 2, 3, 50});
    for (int s = 1; s <= 3; ++s) {
      w.scalar("train/loss", s, 5.0 - s);
      w.scalar("train/lr", s, 1e-3 * s);
    }
    w.flush();
  }
  EXPECT_EQ(name.rfind("events.out.tfevents.", 0), 0u);
  std::string version;
  size_t records = 0;
  const auto scalars = decode_file(dir.file(name), version, records);
  EXPECT_EQ(version, "brain.Event:2");
  EXPECT_EQ(records, 1u + 2u + 6u);
  ASSERT_EQ(scalars.size(), 6u);
  EXPECT_EQ(scalars[0].tag, "train/loss");
  EXPECT_EQ(scalars[0].step, 1);
  EXPECT_FLOAT_EQ(scalars[0].value, 4.0f);
  EXPECT_EQ(scalars[5].tag, "train/lr");
  EXPECT_FLOAT_EQ(scalars[5].value, 3e-3f);

  const EventFileContents c = read_event_file(dir.file(name));
  EXPECT_EQ(c.scalars.size(), 6u);
  EXPECT_EQ(c.histogram_tags, std::vector<std::string>{"data/patches_per_material"});
  EXPECT_EQ(c.text_tags, std::vector<std::string>{"config"});
  EXPECT_FALSE(c.truncated_tail);
}

TEST(Events, ATruncatedLastRecordIsIgnoredButCorruptionIsAnError) {
  test::TempDir dir;
  std::string name;
  {
    EventWriter w(dir.path());
    name = w.file_name();
    for (int s = 1; s <= 5; ++s) w.scalar("x", s, s);
    w.flush();
  }
  const std::string whole = test::read_file(dir.file(name));
  test::write_file(dir.file(name), whole.substr(0, whole.size() - 7));
  const EventFileContents c = read_event_file(dir.file(name));
  EXPECT_TRUE(c.truncated_tail);
  EXPECT_EQ(c.scalars.size(), 4u);

  std::string bad = whole;
  bad[bad.size() - 10] ^= 0x55;  // inside the last record's payload
  test::write_file(dir.file(name), bad);
  EXPECT_THROW(read_event_file(dir.file(name)), std::exception);
}

TEST(Events, ResumingTruncatesToTheCheckpointOffsetAndAppends) {
  test::TempDir dir;
  std::string name;
  uint64_t at_checkpoint = 0;
  {
    EventWriter w(dir.path());
    name = w.file_name();
    for (int s = 1; s <= 4; ++s) w.scalar("train/loss", s, s);
    at_checkpoint = w.flush();
    for (int s = 5; s <= 6; ++s) w.scalar("train/loss", s, 100 + s);  // logged, then the process died
    w.flush();
  }
  {
    EventWriter w(dir.path(), name, at_checkpoint);
    for (int s = 5; s <= 6; ++s) w.scalar("train/loss", s, s);
    w.flush();
  }
  EXPECT_EQ(event_files(dir.path()).size(), 1u);
  const auto c = read_event_file(dir.file(name));
  ASSERT_EQ(c.scalars.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(c.scalars[static_cast<size_t>(i)].step, i + 1);
    EXPECT_EQ(c.scalars[static_cast<size_t>(i)].value, i + 1);
  }
}

}  // namespace
}  // namespace rhotrain
