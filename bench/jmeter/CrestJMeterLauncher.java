// Starts Debian's JMeter 2.13 with its XStream instances allowed to load JMeter's own classes.
// Debian ships XStream 1.4.20, whose default allow-list refuses them: the packaged `jmeter`
// command then fails with ForbiddenClassException (and still exits 0). Used by
// bench/jmeter_vs_crest.sh and the JTL compatibility test; see bench/jmeter/run-jmeter.sh.
import java.lang.reflect.Field;

public final class CrestJMeterLauncher {
  public static void main(String[] args) throws Exception {
    String home = System.getProperty("jmeter.home", "/usr/share/jmeter");
    Class<?> utils = Class.forName("org.apache.jmeter.util.JMeterUtils");
    utils.getMethod("setJMeterHome", String.class).invoke(null, home);
    utils.getMethod("loadJMeterProperties", String.class).invoke(null, home + "/bin/jmeter.properties");
    Class<?> saveService = Class.forName("org.apache.jmeter.save.SaveService");
    Class<?> permission = Class.forName("com.thoughtworks.xstream.security.TypePermission");
    Object any = Class.forName("com.thoughtworks.xstream.security.AnyTypePermission").getField("ANY").get(null);
    for (String name : new String[] {"JMXSAVER", "JTLSAVER"}) {
      Field field = saveService.getDeclaredField(name);
      field.setAccessible(true);
      Object xstream = field.get(null);
      xstream.getClass().getMethod("addPermission", permission).invoke(xstream, any);
    }
    Class.forName("org.apache.jmeter.NewDriver").getMethod("main", String[].class).invoke(null, (Object) args);
  }
}
