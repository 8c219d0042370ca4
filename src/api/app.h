// App: one Tessera node on its embedded store. Opens the store, the event log, the sources and
// the pipeline, and serves the HTTP API. `tessera serve` is a thin shell around it, and the
// end-to-end tests start it in-process.
//
// Lifecycle: construct -> Start() -> Stop() (or destroy). Not restartable; make a new App over
// the same data dir instead (that is what a restart is).
#pragma once

#include <memory>
#include <string>

#include "api/api.h"
#include "identity/identity_graph.h"
#include "storage/store.h"

namespace tessera::api {

struct AppOptions {
  std::string data_dir;  // empty: an in-memory store (tests only)
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 = ephemeral
  int io_threads = 2;
  // Admin bearer token. Empty: read data_dir/admin-token, or generate one and write it there.
  std::string admin_token;
  storage::RocksOptions rocks;
  eventlog::LogOptions log;
  identity::IdentityConfig identity;
  ingest::IngestLimits limits;
  ingest::IdentifierConfig identifiers;
  size_t max_connections = 10000;
  std::chrono::seconds read_timeout{30};
};

// Reads a JSON config file into the options it covers (identity limits and priority, custom
// identifier kinds, phone region, cache sizes). InvalidArgument names the bad field.
Status LoadConfigFile(const std::string& path, AppOptions* options);

class App {
 public:
  explicit App(AppOptions options);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  Status Start();
  void Stop();

  uint16_t port() const;
  const std::string& admin_token() const { return ctx_.admin_token; }
  storage::Store* store() const { return store_.get(); }
  eventlog::EventLog* log() const { return log_.get(); }
  pipeline::Processor* processor() const { return processor_.get(); }
  sources::SourceRegistry* sources() const { return sources_.get(); }
  audience::Engine* engine() const { return engine_.get(); }
  linkage::Engine* linkage() const { return linkage_.get(); }

 private:
  Status LoadAdminToken();
  void RegisterGauges();

  AppOptions options_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<eventlog::EventLog> log_;
  std::unique_ptr<sources::SourceRegistry> sources_;
  std::unique_ptr<pipeline::Processor> processor_;
  std::unique_ptr<audience::Catalog> catalog_;
  std::unique_ptr<audience::Engine> engine_;
  std::unique_ptr<linkage::Engine> linkage_;
  std::unique_ptr<Background> background_;
  ApiContext ctx_;
  std::unique_ptr<server::HttpServer> server_;
  std::vector<server::CallbackGaugeHandle> gauges_;
  bool started_ = false;
};

}  // namespace tessera::api
