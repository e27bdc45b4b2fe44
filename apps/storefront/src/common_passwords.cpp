// Passwords of 8 or more characters that appear at the top of published breach-frequency lists
// (the SP 800-63B "commonly used" check). Compared without regard to ASCII letter case. Extend
// it freely: one entry a line, lower case.
#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <string_view>

#include "account_rules.hpp"

namespace crest::storefront {
namespace {

constexpr std::array<std::string_view, 125> kCommonPasswords = {
    "00000000",  "11111111",     "11223344",   "12121212",      "123123123",    "12341234",
    "12344321",  "12345678",     "123456789",  "1234567890",    "12345678910",  "123456789a",
    "1234qwer",  "123qweasd",    "1q2w3e4r",   "1q2w3e4r5t",    "1qaz2wsx",     "1qazxsw2",
    "22222222",  "55555555",     "66666666",   "77777777",      "87654321",     "88888888",
    "987654321", "99999999",     "a1b2c3d4",   "aa123456",      "abc12345",     "abcd1234",
    "abcdefgh",  "access14",     "admin123",   "administrator", "asdf1234",     "asdfasdf",
    "asdfghjk",  "asdfghjkl",    "azerty123",  "babygirl1",     "baseball",     "basketball",
    "batman123", "blink182",     "chocolate",  "computer",      "corvette",     "dragon123",
    "football",  "football1",    "freedom1",   "garfield",      "iloveyou",     "iloveyou1",
    "iloveyou2", "jennifer",     "jordan23",   "letmein1",      "liverpool",    "master123",
    "michelle",  "midnight",     "monkey123",  "mustang1",      "passw0rd",     "password",
    "password!", "password1",    "password12", "password123",   "password1234", "pokemon1",
    "princess",  "princess1",    "q1w2e3r4",   "q1w2e3r4t5",    "qazwsxedc",    "qwer1234",
    "qwerty12",  "qwerty123",    "qwerty1234", "qwertyui",      "qwertyuiop",   "samsung1",
    "shadow12",  "starwars",     "sunshine",   "sunshine1",     "superman",     "superman1",
    "trustno1",  "welcome1",     "welcome123", "whatever",      "zaq12wsx",     "zxcvbnm1",
    "zxcvbnmm",  "1111111111",   "0987654321", "1234567891",    "12qwaszx",     "aaaaaaaa",
    "alexander", "changeme",     "charlie1",   "danielle",      "elizabeth",    "fuckyou1",
    "hello123",  "iloveu123",    "lovelove",   "mercedes",      "nicholas",     "p@ssw0rd",
    "p@ssword",  "qwertyqwerty", "secret123",  "security",      "soccer12",     "thomas123",
    "trustme1",  "welcome!",     "whatever1",  "yankees1",      "zxcvbnm123",
};

}  // namespace

bool is_common_password(std::string_view password) {
  std::string lower(password);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(kCommonPasswords.begin(), kCommonPasswords.end(), lower) !=
         kCommonPasswords.end();
}

}  // namespace crest::storefront
