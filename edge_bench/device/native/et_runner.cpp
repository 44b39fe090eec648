// edge-bench's native ExecuTorch runner: the agent's measurement protocol in a process that links
// only the ExecuTorch runtime of the executorch wheel (no Python, no torch), as a deployed
// application would run the model.
//
//   edge-bench-et-runner --model m.pte --threads 4 --warmup-runs 3 --warmup-secs 0.5
//                        --min-runs 20 --min-secs 1 --max-secs 60 --keep-samples 1
//
// It talks to the agent (edge_bench/device/native/executorch.py) in lines. Each line it writes to
// stdout starts with MARKER and holds one JSON object (the runtime's own log goes to stderr):
//
//   after the load   {"event":"inputs","inputs":[{"sizes":[1,3,224,224],"dtype":"float32"}]}
//                    and it reads one line: the path of a raw float32 file holding every input in
//                    order (the agent draws them with numpy, seeded, exactly as the Python
//                    runtime's adapter does, so both runners see the same numbers);
//   at the end       {"event":"result", ...}: the agent's JSON for the parts this process measures
//                    (import_ms, load_ms, prepare_ms, first_inference_ms, warmup_runs,
//                    latency_ms with its raw samples, memory per phase, threads);
//   on a failure     {"event":"error","phase":"load","error":"...","memory":{...}}, exit status 1.
//
// After the result it serves commands, one a line, until `quit` or the end of its input:
//   loop SECONDS     run the model back to back for SECONDS (the energy pass; the agent samples
//                    the meter meanwhile)   -> {"event":"loop","count":N,"loop_s":T}
//   infer N          then two lines, the paths IN and OUT: run each of N images of the raw float32
//                    file IN (the model's one input each) and write the first output of each to OUT
//                    -> {"event":"infer","count":N,"output_sizes":[...]}
//
// With `--etdump PATH --profile-runs N` (built with EDGE_BENCH_ETDUMP: the wheel ships ExecuTorch's
// ETDump event tracer) it is a profiling pass instead, never a measurement: the program runs with the
// ETDump tracer, first inference and warm-up as above, then N traced inferences; the dump (every
// execution, the untraced-for-timing first ones included) is written to PATH and it answers
//   {"event":"profile","runs_before":K,"profile_runs":N,"latency_ms":{...}} and exits.

#include <executorch/extension/module/module.h>
#include <executorch/extension/tensor/tensor.h>
#include <executorch/runtime/platform/runtime.h>
#ifdef EDGE_BENCH_ETDUMP
#include <executorch/devtools/etdump/etdump_flatcc.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#ifdef __linux__
#include <signal.h>
#include <sys/prctl.h>
#endif

// The wheel ships the thread pool library but not its header. These are the two members the runner
// calls, declared as the library defines them (executorch/extension/threadpool/threadpool.h); the
// class is never constructed here, only reached through the pool the library owns.
namespace executorch::extension::threadpool {
class ThreadPool {
 public:
  size_t get_thread_count() const;
  bool _unsafe_reset_threadpool(uint32_t num_threads);
};
ThreadPool* get_threadpool();
}  // namespace executorch::extension::threadpool

namespace {

using executorch::extension::Module;
using executorch::extension::TensorPtr;
using executorch::runtime::Error;
using executorch::runtime::EValue;

const char* const MARKER = "EDGE_BENCH_NATIVE ";
const int RUNNER_PROTOCOL = 1;

// ------------------------------------------------------------------ JSON out

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// An object written key by key, in insertion order (as the Python agent's dicts are).
class Json {
 public:
  Json& raw(const std::string& key, const std::string& value) {
    body_ += (body_.empty() ? "" : ",") + quote(key) + ":" + value;
    return *this;
  }
  Json& str(const std::string& key, const std::string& v) { return raw(key, quote(v)); }
  Json& num(const std::string& key, double v) { return raw(key, number(v)); }
  Json& integer(const std::string& key, long long v) { return raw(key, std::to_string(v)); }
  Json& optional(const std::string& key, long long v) { return raw(key, v < 0 ? "null" : std::to_string(v)); }
  std::string text() const { return "{" + body_ + "}"; }

 private:
  std::string body_;
};

void emit(const std::string& json) {
  std::cout << MARKER << json << "\n" << std::flush;
}

// ------------------------------------------------------------------ memory (edge_bench/device/memory.py)

struct Status {
  long long rss = -1, hwm = -1, anon = -1, file = -1;  // bytes; -1: not in /proc/self/status
};

bool read_status(Status& s) {
  std::ifstream f("/proc/self/status");
  if (!f) return false;
  std::string line;
  while (std::getline(f, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    long long* field = key == "VmRSS" ? &s.rss : key == "VmHWM" ? &s.hwm
                     : key == "RssAnon" ? &s.anon : key == "RssFile" ? &s.file : nullptr;
    if (!field) continue;
    std::istringstream rest(line.substr(colon + 1));
    long long value = 0;
    std::string unit;
    rest >> value >> unit;
    for (auto& ch : unit) ch = static_cast<char>(std::tolower(ch));
    *field = value * (unit == "kb" ? 1024 : 1);
  }
  return true;
}

// Writing "5" to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
bool reset_peak() {
  FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (!f) return false;
  bool wrote = std::fputs("5", f) >= 0;
  return (std::fclose(f) == 0) && wrote;
}

class PhaseMemory {
 public:
  PhaseMemory() {
    Status probe;
    available_ = read_status(probe);
    resettable_ = available_ && reset_peak();
  }
  void start_phase() {
    if (resettable_) reset_peak();
  }
  void end_phase(const std::string& name) {
    Status s;
    if (available_ && read_status(s)) phases_.emplace_back(name, s);
  }
  std::string summary() const {
    if (!available_) {
      return Json().raw("peak_rss_bytes", "null").raw("baseline_rss_bytes", "null").raw("model_rss_bytes", "null")
          .raw("phases", "{}").str("missing_reason", "/proc/self/status not readable (not Linux?)").text();
    }
    long long baseline = -1, peak = -1;
    std::string phases;
    for (const auto& [name, s] : phases_) {
      if (name == "baseline") baseline = s.rss;
      if (s.hwm >= 0) peak = std::max(peak, s.hwm);
      Json p;
      p.optional("rss_bytes", s.rss).optional("hwm_bytes", s.hwm).optional("anon_bytes", s.anon)
          .optional("file_bytes", s.file);
      phases += (phases.empty() ? "" : ",") + quote(name) + ":" + p.text();
    }
    Json out;
    out.optional("peak_rss_bytes", peak).optional("baseline_rss_bytes", baseline)
        .optional("model_rss_bytes", peak >= 0 && baseline >= 0 ? peak - baseline : -1)
        .raw("phases", "{" + phases + "}")
        // Without a reset the peak of a later phase includes the earlier ones.
        .str("peak_method", resettable_ ? "VmHWM reset per phase via clear_refs" : "VmHWM without reset (cumulative)");
    return out.text();
  }

 private:
  bool available_ = false, resettable_ = false;
  std::vector<std::pair<std::string, Status>> phases_;
};

// ------------------------------------------------------------------ timing (edge_bench/device/timing.py)

using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC, as Python's perf_counter_ns

double ms_between(Clock::time_point t0, Clock::time_point t1) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count() / 1e6;
}

// Linear interpolation between closest ranks (numpy's default), on a sorted list.
double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.size() == 1) return sorted[0];
  double pos = (sorted.size() - 1) * q / 100;
  auto lo = static_cast<size_t>(std::floor(pos)), hi = static_cast<size_t>(std::ceil(pos));
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

// timing.median_half_width: the 95 % order-statistic interval of the median, relative to the median.
double median_half_width(const std::vector<double>& samples) {
  const double n = static_cast<double>(samples.size());
  const double reach = 1.96 * std::sqrt(n) / 2;
  const long low = static_cast<long>(std::floor(n / 2 - reach)), high = static_cast<long>(std::ceil(n / 2 + reach)) - 1;
  if (low < 0 || high >= static_cast<long>(samples.size())) return INFINITY;
  std::vector<double> s(samples);
  std::sort(s.begin(), s.end());
  const double middle = percentile(s, 50);
  return middle > 0 ? (s[high] - s[low]) / 2 / middle : INFINITY;
}

// timing.run_for: call `fn` until at least `min_runs` calls and `min_secs` have passed and, with
// `precision` > 0, until the median is known to it; stopping at `max_secs` (or the first call that fails).
template <typename F>
std::vector<double> run_for(F&& fn, long min_runs, double min_secs, double max_secs, double precision = 0) {
  std::vector<double> samples;
  auto start = Clock::now();
  const double min_ns = min_secs * 1e9, max_ns = max_secs * 1e9;
  while (true) {
    auto t0 = Clock::now();
    if (!fn()) return samples;
    auto t1 = Clock::now();
    samples.push_back(ms_between(t0, t1));
    double elapsed = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - start).count());
    if (elapsed >= max_ns) return samples;
    if (static_cast<long>(samples.size()) >= min_runs && elapsed >= min_ns &&
        (precision <= 0 || median_half_width(samples) <= precision))
      return samples;
  }
}

// timing.busy_wait: the slowdown the regression gate's benchmark injects into every inference.
void busy_wait(double milliseconds) {
  auto end = Clock::now() + std::chrono::nanoseconds(static_cast<long long>(milliseconds * 1e6));
  while (Clock::now() < end) {
  }
}

std::string summarize(const std::vector<double>& samples, bool keep_samples) {
  std::vector<double> s(samples);
  std::sort(s.begin(), s.end());
  const size_t n = s.size();
  double sum = 0;
  for (double x : s) sum += x;
  const double mean = sum / n;
  double squares = 0;
  for (double x : s) squares += (x - mean) * (x - mean);
  const double std_dev = n > 1 ? std::sqrt(squares / (n - 1)) : 0.0;
  Json out;
  out.num("median", percentile(s, 50)).num("mean", mean).num("p90", percentile(s, 90)).num("p99", percentile(s, 99))
      .num("std", std_dev).num("min", s.front()).num("max", s.back()).integer("n", static_cast<long long>(n));
  if (keep_samples) {
    std::string list;
    for (double x : samples) list += (list.empty() ? "" : ",") + number(x);
    out.raw("samples", "[" + list + "]");
  }
  return out.text();
}

// ------------------------------------------------------------------ the measurement

struct Options {
  std::string model, etdump;
  long threads = 1, warmup_runs = 3, min_runs = 20, profile_runs = 0;
  double warmup_secs = 0.5, min_secs = 1.0, max_secs = 60.0, precision = 0.0, busy_wait_ms = 0.0;
  bool keep_samples = true;
};

struct Failure {
  std::string phase, error;
};

std::string error_text(const char* what, Error e) {
  char code[16];
  std::snprintf(code, sizeof code, "0x%x", static_cast<unsigned>(e));
  return std::string(what) + ": " + executorch::runtime::to_string(e) + " (" + code + ")";
}

bool parse_options(int argc, char** argv, Options& o, std::string& why) {
  std::map<std::string, std::string> given;
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i];
    if (flag.rfind("--", 0) != 0 || i + 1 >= argc) {
      why = "expected --flag value pairs, got '" + flag + "'";
      return false;
    }
    given[flag.substr(2)] = argv[i + 1];
  }
  try {
    for (const auto& [key, value] : given) {
      if (key == "model") o.model = value;
      else if (key == "threads") o.threads = std::stol(value);
      else if (key == "warmup-runs") o.warmup_runs = std::stol(value);
      else if (key == "warmup-secs") o.warmup_secs = std::stod(value);
      else if (key == "min-runs") o.min_runs = std::stol(value);
      else if (key == "min-secs") o.min_secs = std::stod(value);
      else if (key == "max-secs") o.max_secs = std::stod(value);
      else if (key == "precision") o.precision = std::stod(value);
      else if (key == "busy-wait-ms") o.busy_wait_ms = std::stod(value);
      else if (key == "keep-samples") o.keep_samples = value != "0";
      else if (key == "etdump") o.etdump = value;
      else if (key == "profile-runs") o.profile_runs = std::stol(value);
      else {
        why = "unknown flag --" + key;
        return false;
      }
    }
  } catch (const std::exception&) {
    why = "a flag's value is not a number";
    return false;
  }
  if (o.model.empty()) why = "--model is required";
  else if (o.threads < 1) why = "--threads must be >= 1";
  else if (!o.etdump.empty() && o.profile_runs < 1) why = "--etdump needs --profile-runs >= 1";
#ifndef EDGE_BENCH_ETDUMP
  else if (!o.etdump.empty()) why = "this runner was built without ExecuTorch's ETDump library (lib/libexecutorch_etdump.so)";
#endif
  return why.empty();
}

class Measurement {
 public:
  explicit Measurement(const Options& o) : o_(o) {}

  // The protocol of edge_bench/device/agent.py, phase by phase; false with failure_ set on an error.
  bool run(Json& result) {
    using executorch::extension::threadpool::get_threadpool;

    memory_.start_phase();
    auto t0 = Clock::now();
    executorch::runtime::runtime_init();
    // The XNNPACK delegate runs on ExecuTorch's shared thread pool; size it like LiteRT's.
    get_threadpool()->_unsafe_reset_threadpool(static_cast<uint32_t>(o_.threads));
    const size_t pool_threads = get_threadpool()->get_thread_count();
    result.num("import_ms", ms_between(t0, Clock::now()));
    memory_.end_phase("baseline");
    result.integer("threads", static_cast<long long>(pool_threads));

    memory_.start_phase();
    t0 = Clock::now();
    // The Python runtime maps the file too (MmapDataLoader, mlock where allowed).
    std::unique_ptr<executorch::runtime::EventTracer> tracer;
#ifdef EDGE_BENCH_ETDUMP
    if (!o_.etdump.empty()) {
      auto etdump = std::make_unique<executorch::etdump::ETDumpGen>();
      etdump_ = etdump.get();
      tracer = std::move(etdump);
    }
#endif
    module_ = std::make_unique<Module>(o_.model, Module::LoadMode::MmapUseMlockIgnoreErrors, std::move(tracer));
    if (Error e = module_->load(executorch::runtime::Program::Verification::Minimal); e != Error::Ok)
      return fail("load", error_text("loading the program", e));
    result.num("load_ms", ms_between(t0, Clock::now()));
    memory_.end_phase("load");

    memory_.start_phase();
    t0 = Clock::now();
    if (Error e = module_->load_method("forward"); e != Error::Ok)
      return fail("prepare", error_text("loading method forward", e));
    if (!make_inputs()) return false;
    result.num("prepare_ms", ms_between(t0, Clock::now()));
    memory_.end_phase("prepare");

    memory_.start_phase();
    t0 = Clock::now();
    if (!run_once()) return false;
    result.num("first_inference_ms", ms_between(t0, Clock::now()));
    memory_.end_phase("first_inference");

    memory_.start_phase();
    auto forward = [this] {
      bool ok = run_once();
      if (o_.busy_wait_ms > 0) busy_wait(o_.busy_wait_ms);
      return ok;
    };
    auto warmup = run_for(forward, o_.warmup_runs, o_.warmup_secs, std::max(o_.max_secs, o_.warmup_secs));
    if (!o_.etdump.empty()) return profile(result, 1 + static_cast<long long>(warmup.size()));
    auto samples = run_for(forward, o_.min_runs, o_.min_secs, o_.max_secs, o_.precision);
    memory_.end_phase("timed");
    if (!failure_.error.empty()) return false;
    result.integer("warmup_runs", static_cast<long long>(warmup.size()));
    result.raw("latency_ms", summarize(samples, o_.keep_samples));
    return true;
  }

  // The commands served after the result: the energy loop and runs on given images.
  bool serve_line(const std::string& line) {
    std::istringstream words(line);
    std::string command;
    words >> command;
    if (command == "loop") {
      double secs = 0;
      words >> secs;
      long long count = 0;
      auto t0 = Clock::now();
      while (ms_between(t0, Clock::now()) < secs * 1e3) {
        if (!run_once()) return false;
        ++count;
      }
      emit(Json().str("event", "loop").integer("count", count).num("loop_s", ms_between(t0, Clock::now()) / 1e3).text());
      return true;
    }
    if (command == "infer") {
      long long n = 0;
      words >> n;
      std::string in_path, out_path;  // whole lines: a path may hold spaces
      if (!std::getline(std::cin, in_path) || !std::getline(std::cin, out_path))
        return fail("infer", "infer N needs two more lines: the input and output paths");
      return infer(in_path, n, out_path);
    }
    return fail("serve", "unknown command '" + command + "' (known: loop SECONDS, infer N, quit)");
  }

  bool profiling() const { return !o_.etdump.empty(); }
  const Failure& failure() const { return failure_; }
  std::string memory_summary() const { return memory_.summary(); }

 private:
  bool fail(const std::string& phase, const std::string& error) {
    failure_ = {phase, error};
    return false;
  }

  // The traced inferences of a profiling pass, then the dump written where --etdump says.
  bool profile(Json& result, long long runs_before) {
    auto samples = run_for([this] { return run_once(); }, o_.profile_runs, 0.0, 1e9);
    if (!failure_.error.empty()) return false;
#ifdef EDGE_BENCH_ETDUMP
    auto dump = etdump_->get_etdump_data();
    if (dump.buf == nullptr || dump.size == 0) return fail("profile", "the ETDump tracer recorded nothing");
    std::ofstream out(o_.etdump, std::ios::binary);
    out.write(static_cast<const char*>(dump.buf), static_cast<std::streamsize>(dump.size));
    std::free(dump.buf);
    if (!out.flush()) return fail("profile", "cannot write " + o_.etdump);
#endif
    result.str("event", "profile").integer("runs_before", runs_before)
        .integer("profile_runs", static_cast<long long>(samples.size()))
        .raw("latency_ms", summarize(samples, true));
    return true;
  }

  // Float inputs from the agent's file, in the method's input order.
  bool make_inputs() {
    auto meta = module_->method_meta("forward");
    if (!meta.ok()) return fail("prepare", error_text("reading the method's metadata", meta.error()));
    std::string list;
    for (size_t i = 0; i < meta->num_inputs(); ++i) {
      auto info = meta->input_tensor_meta(i);
      if (!info.ok()) return fail("prepare", "input " + std::to_string(i) + " is not a tensor");
      if (info->scalar_type() != executorch::aten::ScalarType::Float)
        return fail("prepare", "input " + std::to_string(i) + " is not float32: the runner feeds float32 images");
      std::vector<executorch::aten::SizesType> sizes(info->sizes().begin(), info->sizes().end());
      std::string shown;
      size_t numel = 1;
      for (auto d : sizes) {
        shown += (shown.empty() ? "" : ",") + std::to_string(d);
        numel *= static_cast<size_t>(d);
      }
      sizes_.push_back(sizes);
      buffers_.emplace_back(numel);
      list += std::string(list.empty() ? "" : ",") + "{\"sizes\":[" + shown + "],\"dtype\":\"float32\"}";
    }
    emit(Json().str("event", "inputs").raw("inputs", "[" + list + "]").text());
    std::string path;
    if (!std::getline(std::cin, path)) return fail("prepare", "no inputs file given on stdin");
    std::ifstream f(path, std::ios::binary);
    for (auto& buffer : buffers_) {
      if (!f.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(buffer.size() * sizeof(float))))
        return fail("prepare", "inputs file " + path + " is shorter than the model's inputs");
    }
    for (size_t i = 0; i < buffers_.size(); ++i) {
      tensors_.push_back(executorch::extension::make_tensor_ptr(sizes_[i], buffers_[i].data()));
      inputs_.emplace_back(*tensors_.back());
    }
    return true;
  }

  bool run_once() {
    auto outputs = module_->execute("forward", inputs_);
    if (!outputs.ok()) return fail("run", error_text("executing forward", outputs.error()));
    last_outputs_ = std::move(*outputs);
    return true;
  }

  bool infer(const std::string& in_path, long long n, const std::string& out_path) {
    if (buffers_.size() != 1) return fail("infer", "infer needs a model with one input");
    std::ifstream in(in_path, std::ios::binary);
    std::ofstream out(out_path, std::ios::binary);
    if (!in || !out) return fail("infer", "cannot open " + in_path + " or " + out_path);
    std::string sizes;
    for (long long i = 0; i < n; ++i) {
      if (!in.read(reinterpret_cast<char*>(buffers_[0].data()), static_cast<std::streamsize>(buffers_[0].size() * sizeof(float))))
        return fail("infer", in_path + " holds fewer than " + std::to_string(n) + " inputs");
      if (!run_once()) return false;
      if (last_outputs_.empty() || !last_outputs_[0].isTensor()) return fail("infer", "the first output is not a tensor");
      const auto& y = last_outputs_[0].toTensor();
      if (y.scalar_type() != executorch::aten::ScalarType::Float) return fail("infer", "the first output is not float32");
      out.write(reinterpret_cast<const char*>(y.const_data_ptr<float>()), static_cast<std::streamsize>(y.numel() * sizeof(float)));
      if (sizes.empty())
        for (auto d : y.sizes()) sizes += (sizes.empty() ? "" : ",") + std::to_string(d);
    }
    if (!out.flush()) return fail("infer", "cannot write " + out_path);
    emit(Json().str("event", "infer").integer("count", n).raw("output_sizes", "[" + sizes + "]").text());
    return true;
  }

  Options o_;
  PhaseMemory memory_;
  Failure failure_;
  std::unique_ptr<Module> module_;
#ifdef EDGE_BENCH_ETDUMP
  executorch::etdump::ETDumpGen* etdump_ = nullptr;  // owned by module_; set in a profiling pass
#endif
  std::vector<std::vector<executorch::aten::SizesType>> sizes_;
  std::vector<std::vector<float>> buffers_;
  std::vector<TensorPtr> tensors_;
  std::vector<EValue> inputs_;
  std::vector<EValue> last_outputs_;
};

int report_failure(const Measurement& m) {
  emit(Json().str("event", "error").integer("protocol", RUNNER_PROTOCOL).str("phase", m.failure().phase)
           .str("error", m.failure().error).raw("memory", m.memory_summary()).text());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
#ifdef __linux__
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the agent that measures through it
#endif
  Options options;
  std::string why;
  if (!parse_options(argc, argv, options, why)) {
    emit(Json().str("event", "error").integer("protocol", RUNNER_PROTOCOL).str("phase", "arguments").str("error", why).text());
    return 2;
  }
  Measurement m(options);
  Json result;
  result.integer("protocol", RUNNER_PROTOCOL);
  if (!m.run(result)) return report_failure(m);
  if (m.profiling()) {
    emit(result.text());
    return 0;
  }
  result.str("event", "result");
  result.raw("memory", m.memory_summary());
  emit(result.text());
  std::string line;
  while (std::getline(std::cin, line) && line != "quit") {
    if (line.empty()) continue;
    if (!m.serve_line(line)) return report_failure(m);
  }
  return 0;
}
