// Console input, as a client sends it over TCP: the bytes are cut into chunks (sizes drawn from the
// input itself) and fed to the line reader. For any bytes: the lines are the same however the bytes
// are chunked; no line handed on is longer than the limit (longer ones are flagged, not cut into
// commands); every line parses or is refused without harm; a record key that parses prints back
// as the same hex.

#include "protocol/console_protocol.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

namespace dspsync::fuzz {

namespace {

std::vector<line_reader::line> read_lines(std::string_view bytes, const uint8_t* cuts, std::size_t ncuts,
                                          std::size_t max_line) {
  line_reader reader(max_line);
  std::vector<line_reader::line> out;
  std::size_t c = 0;
  while (!bytes.empty()) {
    const std::size_t n = ncuts == 0 ? bytes.size() : 1 + cuts[c++ % ncuts] % 97;
    const auto chunk = bytes.substr(0, std::min(n, bytes.size()));
    reader.feed(chunk);
    bytes.remove_prefix(chunk.size());
    while (auto l = reader.next()) out.push_back(std::move(*l));
  }
  return out;
}

}  // namespace

int fuzz_console(const uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const std::size_t max_line = 64;  // small, so that over-long lines are common
  const auto whole = read_lines(all, nullptr, 0, max_line);
  const auto chunked = read_lines(all, data, std::min<std::size_t>(size, 16), max_line);
  FUZZ_CHECK("console", whole.size() == chunked.size(),
             std::to_string(whole.size()) + " lines whole, " + std::to_string(chunked.size()) + " chunked");
  for (std::size_t i = 0; i < whole.size(); ++i) {
    FUZZ_CHECK("console", whole[i].text == chunked[i].text && whole[i].too_long == chunked[i].too_long,
               "line " + std::to_string(i) + " differs with chunking");
    FUZZ_CHECK("console", whole[i].text.size() <= max_line, "a line longer than the limit was handed on");
    if (whole[i].too_long) continue;
    auto cmd = parse_command(whole[i].text);
    if (cmd) {
      FUZZ_CHECK("console", !cmd->name.empty(), "a command without a name");
      for (std::size_t k = 0; k <= cmd->args.size() + 1; ++k) (void)cmd->rest_after(k);
      if (!is_console_command(cmd->name))
        FUZZ_CHECK("console", !unknown_command_reply(cmd->name).empty(), "");
    }
    if (auto key = parse_record_key(whole[i].text)) {
      std::string lower = whole[i].text;
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      FUZZ_CHECK("console", to_hex(*key) == lower,
                 "record key " + whole[i].text + " prints back as " + to_hex(*key));
    }
    (void)is_loopback_address(whole[i].text);
    (void)frame_err(whole[i].text, whole[i].text);
  }
  return 0;
}

}  // namespace dspsync::fuzz

DSPSYNC_FUZZ_ENTRY(fuzz_console)
