import com.sun.net.httpserver.*;
import java.net.*; import java.net.http.*; import java.util.concurrent.*;
var waiters = new ConcurrentLinkedQueue<HttpExchange>();
var srv = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
srv.setExecutor(Executors.newFixedThreadPool(1));   // ONE handler thread for everything
srv.createContext("/", ex -> { waiters.add(ex); });   // returns without answering or closing
srv.start();
var client = HttpClient.newHttpClient();
var uri = URI.create("http://127.0.0.1:" + srv.getAddress().getPort() + "/v1/state-events");
long t0 = System.nanoTime();
var futures = new java.util.ArrayList<CompletableFuture<HttpResponse<String>>>();
for (int i = 0; i < 50; i++) futures.add(client.sendAsync(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()));
Thread.sleep(500);
System.out.println("parked exchanges: " + waiters.size() + ", answered so far: " + futures.stream().filter(CompletableFuture::isDone).count());
var answerer = Executors.newSingleThreadScheduledExecutor();
answerer.schedule(() -> { for (HttpExchange e0; (e0 = waiters.poll()) != null; ) { HttpExchange ex = e0; try (ex) { byte[] b = "{\"events\":[]}".getBytes(); ex.sendResponseHeaders(200, b.length); ex.getResponseBody().write(b); } catch (Exception e) { e.printStackTrace(); } } }, 300, TimeUnit.MILLISECONDS);
CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
System.out.println("all " + futures.size() + " answered 200: " + futures.stream().allMatch(f -> f.join().statusCode() == 200) + " after " + (System.nanoTime() - t0) / 1_000_000 + " ms; body " + futures.get(0).join().body());
srv.stop(0); answerer.shutdown();
/exit
