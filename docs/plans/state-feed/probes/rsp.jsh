import com.sun.net.httpserver.*;
import java.net.*; import java.net.http.*; import java.util.concurrent.*;
var waiters = new ConcurrentLinkedQueue<HttpExchange>();
var srv = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
srv.setExecutor(Executors.newFixedThreadPool(1));
srv.createContext("/", ex -> { waiters.add(ex); });
srv.start();
var client = HttpClient.newHttpClient();
var uri = URI.create("http://127.0.0.1:" + srv.getAddress().getPort() + "/v1/state-events");
long t0 = System.nanoTime();
var f = client.sendAsync(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
String outcome;
try { outcome = "status " + f.get(6, TimeUnit.SECONDS).statusCode(); } catch (Exception e) { outcome = "client saw " + e.getCause(); }
System.out.println("maxRspTime=" + System.getProperty("sun.net.httpserver.maxRspTime") + " s, parked 6 s: " + outcome + " after " + (System.nanoTime() - t0) / 1_000_000 + " ms");
var ex = waiters.poll();
try { byte[] b = "{}".getBytes(); ex.sendResponseHeaders(200, b.length); ex.getResponseBody().write(b); ex.close(); System.out.println("late answer written without error"); } catch (Exception e) { System.out.println("late answer failed: " + e); }
srv.stop(0);
/exit
