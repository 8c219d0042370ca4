#include "core/coding.h"
#include "api/app.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace tessera::api {

App::App(AppOptions options) : options_(std::move(options)) {}

App::~App() { Stop(); }

uint16_t App::port() const { return server_ ? server_->port() : 0; }

Status App::LoadAdminToken() {
  if (!options_.admin_token.empty()) {
    ctx_.admin_token = options_.admin_token;
    return Status::Ok();
  }
  if (options_.data_dir.empty()) return Status::InvalidArgument("an admin token is required");
  std::filesystem::path path = std::filesystem::path(options_.data_dir) / "admin-token";
  std::ifstream in(path);
  if (in && std::getline(in, ctx_.admin_token) && !ctx_.admin_token.empty()) return Status::Ok();
  unsigned char bytes[24];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return Status::Internal("no randomness for a token");
  ctx_.admin_token =
      "adm_" + HexEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
  // Created 0600 from the start, written whole and synced before anyone is told about it.
  std::string tmp = path.string() + ".tmp";
  ::unlink(tmp.c_str());  // a leftover could carry wider permissions
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));
  std::string line = ctx_.admin_token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::IOError("cannot write " + path.string() + ": " + std::strerror(errno));
  }
  spdlog::info("generated an admin token in {}", path.string());
  return Status::Ok();
}

void App::RegisterGauges() {
  auto& r = server::DefaultRegistry();
  eventlog::EventLog* log = log_.get();
  pipeline::Processor* processor = processor_.get();
  storage::Store* store = store_.get();
  gauges_.push_back(r.AddCallbackGauge("tessera_log_last_seq", "Last durable event log position.",
                                       [log] { return static_cast<double>(log->last_seq()); }));
  gauges_.push_back(r.AddCallbackGauge(
      "tessera_log_pending_bytes", "Bytes waiting for the event log committer.",
      [log] { return static_cast<double>(log->pending_bytes()); }));
  gauges_.push_back(r.AddCallbackGauge(
      "tessera_log_group_commits", "Synced group writes of the event log since start.",
      [log] { return static_cast<double>(log->group_commits()); }));
  gauges_.push_back(r.AddCallbackGauge(
      "tessera_pipeline_processed_seq", "Last event log position applied to profiles.",
      [processor] { return static_cast<double>(processor->processed_seq()); }));
  gauges_.push_back(r.AddCallbackGauge(
      "tessera_pipeline_lag_events", "Events logged but not yet applied to profiles.",
      [log, processor] {
        uint64_t a = log->last_seq(), b = processor->processed_seq();
        return static_cast<double>(a > b ? a - b : 0);
      }));
  gauges_.push_back(r.AddCallbackGauge(
      "tessera_pipeline_merges", "Profile merges since start.",
      [processor] { return static_cast<double>(processor->merges()); }));
  audience::Engine* engine = engine_.get();
  gauges_.push_back(r.AddCallbackGauge(
      "tessera_audience_applied_seq", "Last event log position the audience engine applied.",
      [engine] { return static_cast<double>(engine->applied_seq()); }));
  gauges_.push_back(r.AddCallbackGauge(
      "tessera_audience_transitions", "Audience entries and exits since start.",
      [engine] { return static_cast<double>(engine->transitions()); }));
  gauges_.push_back(r.AddCallbackGauge(
      "tessera_audience_evaluations", "Profiles evaluated by the audience engine since start.",
      [engine] { return static_cast<double>(engine->evaluations()); }));
  gauges_.push_back(r.AddCallbackGauge(
      "tessera_audience_timers_fired", "Durable audience timers fired since start.",
      [engine] { return static_cast<double>(engine->timers_fired()); }));
  gauges_.push_back(r.AddCallbackGauge(
      "tessera_audience_outbox",
      "Audience events of an earlier version's outbox waiting to be appended to the log.",
      [engine] { return static_cast<double>(engine->outbox_pending()); }));
  linkage::Engine* linkage = linkage_.get();
  gauges_.push_back(r.AddCallbackGauge(
      "tessera_linkage_applied_seq", "Last event log position the linkage engine applied.",
      [linkage] { return static_cast<double>(linkage->applied_seq()); }));
  gauges_.push_back(r.AddCallbackGauge(
      "tessera_linkage_links", "Linked edges the linkage engine made since start.",
      [linkage] { return static_cast<double>(linkage->links_made()); }));
  gauges_.push_back(r.AddCallbackGauge(
      "tessera_linkage_reviews_queued", "Review items the linkage engine queued since start.",
      [linkage] { return static_cast<double>(linkage->reviews_queued()); }));
  gauges_.push_back(r.AddCallbackGauge(
      "tessera_linkage_profiles_scored", "Profiles indexed and scored since start.",
      [linkage] { return static_cast<double>(linkage->profiles_scored()); }));
  gauges_.push_back(r.AddCallbackGauge("tessera_store_live_bytes", "On-disk size of the store.",
                                       [store] { return static_cast<double>(store->Stats().live_bytes); }));
  gauges_.push_back(r.AddCallbackGauge(
      "tessera_store_memtable_bytes", "Memory in the store's write buffers.",
      [store] { return static_cast<double>(store->Stats().memtable_bytes); }));
  gauges_.push_back(r.AddCallbackGauge(
      "tessera_store_block_cache_bytes", "Memory in the store's block cache.",
      [store] { return static_cast<double>(store->Stats().block_cache_bytes); }));
}

Status App::Start() {
  TESSERA_CHECK(!started_, "App::Start called twice");
  started_ = true;
  if (options_.data_dir.empty()) {
    store_ = storage::NewMemoryStore();
  } else {
    std::error_code ec;
    std::filesystem::create_directories(options_.data_dir, ec);
    if (ec) return Status::IOError("cannot create " + options_.data_dir + ": " + ec.message());
    TESSERA_ASSIGN_OR_RETURN(store_, storage::OpenRocksStore(options_.data_dir + "/store",
                                                             options_.rocks));
  }
  TESSERA_RETURN_IF_ERROR(LoadAdminToken());
  log_ = std::make_unique<eventlog::EventLog>(store_.get(), options_.log);
  TESSERA_RETURN_IF_ERROR(log_->Open());
  sources_ = std::make_unique<sources::SourceRegistry>(store_.get());
  TESSERA_RETURN_IF_ERROR(sources_->Load());
  processor_ = std::make_unique<pipeline::Processor>(store_.get(), log_.get(), options_.identity);
  TESSERA_RETURN_IF_ERROR(processor_->Start());
  catalog_ = std::make_unique<audience::Catalog>(store_.get());
  TESSERA_RETURN_IF_ERROR(catalog_->Load());
  engine_ = std::make_unique<audience::Engine>(store_.get(), log_.get(), processor_.get(),
                                               sources_.get(), catalog_.get(), options_.identity);
  TESSERA_RETURN_IF_ERROR(engine_->Start());
  linkage_ = std::make_unique<linkage::Engine>(store_.get(), log_.get(), processor_.get(),
                                               options_.identity);
  TESSERA_RETURN_IF_ERROR(linkage_->Start());
  background_ = std::make_unique<Background>();

  ctx_.store = store_.get();
  ctx_.log = log_.get();
  ctx_.processor = processor_.get();
  ctx_.sources = sources_.get();
  ctx_.catalog = catalog_.get();
  ctx_.engine = engine_.get();
  ctx_.linkage = linkage_.get();
  ctx_.background = background_.get();
  ctx_.limits = options_.limits;
  ctx_.identifiers = options_.identifiers;
  server::Router router;
  AddIngestRoutes(&ctx_, &router);
  AddAdminRoutes(&ctx_, &router);
  AddProfileRoutes(&ctx_, &router);
  AddAudienceRoutes(&ctx_, &router);
  AddLinkageRoutes(&ctx_, &router);
  RegisterGauges();

  server::ServerOptions so;
  so.host = options_.host;
  so.port = options_.port;
  so.threads = options_.io_threads;
  // Ingest checks Segment's 500 KB itself (after gunzip); this bounds what is read at all.
  so.max_body_bytes = 4 << 20;
  so.max_connections = options_.max_connections;
  so.read_timeout = options_.read_timeout;
  server_ = std::make_unique<server::HttpServer>(so, std::move(router));
  TESSERA_RETURN_IF_ERROR(server_->Start());
  spdlog::info("tessera listening on {}:{} (data: {}, log at seq {}, processed {})", options_.host,
               server_->port(), options_.data_dir.empty() ? "memory" : options_.data_dir,
               log_->last_seq(), processor_->processed_seq());
  return Status::Ok();
}

void App::Stop() {
  // Stop taking requests, stop deriving (what is logged but not yet applied is applied at the
  // next start), then let acknowledged appends finish.
  if (server_) server_->Stop();
  background_.reset();  // finishes queued previews
  if (linkage_) linkage_->Stop();
  if (engine_) engine_->Stop();
  if (processor_) processor_->Stop();
  if (log_) log_->Close();
  gauges_.clear();
}

}  // namespace tessera::api
