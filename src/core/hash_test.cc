#include <gtest/gtest.h>

#include <string>

#include "opal/hash.h"
#include "opal/json.h"

namespace opal {
namespace {

// Test vectors from FIPS 180-4 examples and NIST CAVS.
TEST(Sha256, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PaddingBoundaries) {
  // Lengths around the 55/56/64-byte padding boundaries must all differ and be stable.
  std::string prev;
  for (int n = 50; n < 70; ++n) {
    std::string h = Sha256Hex(std::string(n, 'x'));
    EXPECT_EQ(h.size(), 64u);
    EXPECT_NE(h, prev);
    EXPECT_EQ(h, Sha256Hex(std::string(n, 'x')));
    prev = h;
  }
  EXPECT_EQ(Sha256Hex(std::string(64, 'a')),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(CanonicalJson, SortedAndCompact) {
  Json a = Json::parse(R"({"b": 1, "a": [1, 2, {"z": 0, "y": "é"}]})");
  Json b = Json::parse(R"({"a":[1,2,{"y":"é","z":0}],"b":1})");
  EXPECT_EQ(CanonicalJson(a), CanonicalJson(b));
  EXPECT_EQ(CanonicalJson(a), R"({"a":[1,2,{"y":"é","z":0}],"b":1})");
}

}  // namespace
}  // namespace opal
